package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestExerciseSkeletons makes the workshop's skeleton of every step, as
// make exercise does, checks that it builds, and grades it on the step's own
// checks with this suite run inside itself (-nested): a skeleton must fail
// every one of them that its TODOs are needed for, and TestSteps, in the
// same run, shows that the real step passes them all. So a skeleton can
// neither drift from its step nor hand out a check for free.
func TestExerciseSkeletons(t *testing.T) {
	if *prebuiltFlag {
		t.Fatal("the skeletons are built with Go, which a -prebuilt run does not have: run this test on the host")
	}
	steps, err := findSteps()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		s := s
		t.Run(s.name, func(t *testing.T) {
			dir := filepath.Join(repoRoot, "bin", "skeletons", s.name)
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
			generate := exec.Command(goCommand(), "run", "./scripts/exercise", s.name, dir)
			generate.Dir = repoRoot
			if out, err := generate.CombinedOutput(); err != nil {
				t.Fatalf("make the skeleton of %s: %v\n%s", s.name, err, out)
			}
			bin := filepath.Join(repoRoot, "bin", "skeleton-"+s.name)
			if err := buildOne(bin, dir); err != nil {
				t.Fatalf("the skeleton of %s does not build: %v", s.name, err)
			}
			var own []string
			for _, c := range checks {
				if c.since == s.number {
					own = append(own, c.name)
				}
			}
			// Bounded: a skeleton must fail its checks, never hang them.
			run := exec.Command(os.Args[0], "-test.count=1", "-test.timeout=4m",
				"-test.run", "^TestSteps$/^"+s.name+"$/^("+strings.Join(own, "|")+")$",
				"-nested", "-grade", "-step", s.name, "-bin", bin)
			out, _ := run.CombinedOutput()
			failed := failedChecks(string(out))
			var passed []string
			for _, name := range own {
				if !failed[name] && !skeletonCannotFail[name] {
					passed = append(passed, name)
				}
			}
			if len(failed) == 0 || len(passed) > 0 {
				t.Errorf("the skeleton of %s (make exercise) passes %s of its step's own checks: each TODO must be needed by a check, and each check must need a TODO (or be listed in skeletonCannotFail with the reason); the graded run said:\n%s",
					s.name, strings.Join(passed, ", "), lastLines(string(out), 40))
			}
		})
	}
}

// skeletonCannotFail are a step's own checks that its skeleton passes, and
// must: they grade what the skeleton keeps (the command line, bad input),
// not what it leaves TODO.
var skeletonCannotFail = map[string]bool{
	"HelpListsTheRunCommand": true, "NoCommandIsAnError": true, "UnknownFlagIsAnError": true,
	"BadHostnameIsRejected": true, "NonRootIsRefused": true, "BadInputIsOneClearLine": true,
	"MissingRootfsIsAnError": true, "BadNetworkFlagsAreErrors": true, "BadLimitsAreErrors": true,
	"BadVolumesAreErrors": true, "BadImportsAreRefused": true, "ImportNameClashIsAnError": true,
	"DeviceNodesAreSkippedWithANote": true, "ImportNeverWritesThroughSymlinks": true,
	"MissingIptablesIsAClearError": true, "PortInUseIsAnError": true, "FullSubnetIsAnError": true,
	"OutputPassesThroughUntouched": true, "ExitStatusIsTheCommands": true,
	"KilledContainerExitsWith128PlusSignal": true, "MissingCommandExits127": true,
	"EnvironmentIsTheContainersOwn": true, "ContainerHasASessionOfItsOwn": true,
	// Aborting a start on a signal is not among step 07's TODOs.
	"CtrlCAbortsAHangingStart": true,
	// --privileged switches off the defences that the skeleton leaves TODO.
	"PrivilegedContainerHasTheHostsCapabilities": true,
	// A dry run prints the spec, which the skeleton makes as the step does:
	// its TODOs carry the spec out, and a dry run starts nothing.
	"DryRunFollowsTheRunFlags": true,
}

var failLine = regexp.MustCompile(`(?m)^  FAIL \S+ (\S+)`)

// failedChecks reads the names of the failed checks from a graded run's report.
func failedChecks(report string) map[string]bool {
	failed := map[string]bool{}
	for _, m := range failLine.FindAllStringSubmatch(report, -1) {
		failed[m[1]] = true
	}
	return failed
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
