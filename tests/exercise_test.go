package tests

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// TestExerciseSkeletons makes the workshop's skeleton of every step, as
// make exercise does, checks that it builds, and grades it on the step's own
// checks with this suite run inside itself (-nested): a skeleton must fail
// every one of them that its TODOs are needed for, and TestSteps, in the
// same run, shows that the real step passes them all. So a skeleton can
// neither drift from its step nor hand out a check for free. A step in
// parts (step 07) has, besides, a skeleton per part (make exercise PART=),
// graded as make check PART= grades it: on that part's checks alone.
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
			var own []string
			for _, c := range checks {
				if c.since == s.number {
					own = append(own, c.name)
				}
			}
			report := gradeSkeleton(t, s, "", "-test.run", "^TestSteps$/^"+s.name+"$/^("+strings.Join(own, "|")+")$")
			failed := failedChecks(report)
			var passed []string
			for _, name := range own {
				if !failed[name] && !skeletonCannotFail[name] {
					passed = append(passed, name)
				}
			}
			if len(failed) == 0 || len(passed) > 0 {
				t.Errorf("the skeleton of %s (make exercise) passes %s of its step's own checks: each TODO must be needed by a check, and each check must need a TODO (or be listed in skeletonCannotFail with the reason); the graded run said:\n%s",
					s.name, strings.Join(passed, ", "), lastLines(report, 40))
			}
			parts, err := exerciseParts(s.name)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range parts {
				if len(p.todos) > 0 { // a part with none makes no skeleton (make exercise says what to read)
					t.Run("part-"+p.name, func(t *testing.T) { testPartSkeleton(t, s, p) })
				}
			}
		})
	}
}

// testPartSkeleton grades the skeleton of part p of s's exercise (make
// exercise PART=) with -part, as make check PART= does, on the part's checks
// that its TODOs are needed for: the run must grade each, and the skeleton
// fail each. The checks' own cleanups use the skeleton, whose rm may be a
// TODO: what they leave is removed with the real step.
func testPartSkeleton(t *testing.T, s step, p exercisePart) {
	before, err := takeSnapshot()
	if err != nil {
		t.Fatalf("snapshot the host: %v", err)
	}
	// The checks the skeleton must fail: those it passes prove nothing.
	var mustFail []string
	for _, name := range checkParts[p.name] {
		if !skeletonCannotFail[name] && !partSkeletonCannotFail[name] {
			mustFail = append(mustFail, name)
		}
	}
	sort.Strings(mustFail)
	containers, networks, images := s.containerIDs(t, "-a"), s.networkNames(t), s.imageNames(t)
	report := gradeSkeleton(t, s, p.name, "-part", p.name, "-test.run", "^TestSteps$/^"+s.name+"$/^("+strings.Join(mustFail, "|")+")$")
	for _, id := range s.containerIDs(t, "-a") {
		if !contains(containers, id) {
			if r := s.run(t, "rm", "-f", id); r.status != 0 {
				t.Errorf("rm -f %s, left by the skeleton of part %s: %v", id, p.name, r)
			}
		}
	}
	for _, name := range s.networkNames(t) {
		if !contains(networks, name) {
			if r := s.run(t, "network", "rm", name); r.status != 0 {
				t.Errorf("network rm %s, left by the skeleton of part %s: %v", name, p.name, r)
			}
		}
	}
	for _, name := range s.imageNames(t) {
		if !contains(images, name) {
			if r := s.run(t, "rmi", name); r.status != 0 {
				t.Errorf("rmi %s, left by the skeleton of part %s: %v", name, p.name, r)
			}
		}
	}
	if diff := before.diffSettled(); diff != "" {
		t.Errorf("grading the skeleton of part %s left the host changed, even after rm -f, network rm and rmi of the real %s:\n%s", p.name, s.name, diff)
	}

	if got := gradedChecks(report); strings.Join(got, " ") != strings.Join(mustFail, " ") {
		t.Errorf("make check PART=%s graded %q of the part's checks that its skeleton must fail, %q; the graded run said:\n%s", p.name, got, mustFail, lastLines(report, 40))
	}
	failed := failedChecks(report)
	var passed []string
	for _, name := range mustFail {
		if !failed[name] {
			passed = append(passed, name)
		}
	}
	if len(mustFail) == 0 || len(passed) > 0 {
		t.Errorf("the skeleton of part %s of %s (make exercise PART=%s), with only %s to write, passes %q of the part's checks: move each check to the part whose TODOs it needs (checkParts), or list it in partSkeletonCannotFail with the reason; the graded run said:\n%s",
			p.name, s.name, p.name, strings.Join(p.todos, ", "), passed, lastLines(report, 40))
	}
}

// gradeSkeleton makes the skeleton of step s (of its part part, or all of
// it for ""), as make exercise does, builds it and grades it with this
// suite run inside itself, with the flags given. It returns the report.
func gradeSkeleton(t *testing.T, s step, part string, flags ...string) string {
	t.Helper()
	name := s.name
	args := []string{"run", "./scripts/exercise"}
	if part != "" {
		name += "-part-" + part
		args = append(args, "-part", part)
	}
	dir := filepath.Join(repoRoot, "bin", "skeletons", name)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	generate := exec.Command(goCommand(), append(args, s.name, dir)...)
	generate.Dir = repoRoot
	if out, err := generate.CombinedOutput(); err != nil {
		t.Fatalf("make the skeleton of %s: %v\n%s", name, err, out)
	}
	bin := filepath.Join(repoRoot, "bin", "skeleton-"+name)
	if err := buildOne(bin, dir); err != nil {
		t.Fatalf("the skeleton of %s does not build: %v", name, err)
	}
	// Bounded: a skeleton must fail its checks, never hang them.
	run := exec.Command(os.Args[0], append([]string{"-test.count=1", "-test.timeout=4m"},
		append(flags, "-nested", "-grade", "-step", s.name, "-bin", bin)...)...)
	out, _ := run.CombinedOutput()
	return string(out)
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

// partSkeletonCannotFail are checks of a part (checkParts) that the
// part's own skeleton passes, and must: they grade code the part gives.
var partSkeletonCannotFail = map[string]bool{
	// Part 5 teaches the networks and commit, but leaves only commit's
	// copy to write: network create, ls and rm are given.
	"NetworksKeepTheirContainersApart": true, "NetworkCommandsRefuseBadInput": true,
}

var (
	failLine   = regexp.MustCompile(`(?m)^  FAIL \S+ (\S+)`)
	gradedLine = regexp.MustCompile(`(?m)^  (?:PASS|FAIL) \S+ (\w+)$`)
)

// failedChecks reads the names of the failed checks from a graded run's report.
func failedChecks(report string) map[string]bool {
	failed := map[string]bool{}
	for _, m := range failLine.FindAllStringSubmatch(report, -1) {
		failed[m[1]] = true
	}
	return failed
}

// gradedChecks reads the names of the checks a graded run's report grades,
// without what they left on the host (NAME/LeavesTheHostAsFound), sorted.
func gradedChecks(report string) []string {
	var names []string
	for _, m := range gradedLine.FindAllStringSubmatch(report, -1) {
		if !contains(names, m[1]) {
			names = append(names, m[1])
		}
	}
	sort.Strings(names)
	return names
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// networkNames lists the networks "network ls" shows (the first field of
// each line after the header), sorted.
func (s step) networkNames(t *testing.T) []string {
	t.Helper()
	r := s.run(t, "network", "ls")
	if r.status != 0 {
		t.Fatalf("network ls: %v", r)
	}
	var names []string
	for i, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		if f := strings.Fields(line); i > 0 && len(f) > 0 {
			names = append(names, f[0])
		}
	}
	sort.Strings(names)
	return names
}

// exercisePart is one part of a step's exercise, a line "STEP/PART: NAME..."
// of scripts/exercise/exercises.txt: its name and the declarations it
// leaves TODO (none for a part to read).
type exercisePart struct {
	name  string
	todos []string
}

// exerciseLines reads exercises.txt: each step's parts, in order; a step
// in one piece ("STEP: NAME...") has none.
func exerciseLines() (map[string][]exercisePart, error) {
	path := filepath.Join(repoRoot, "scripts", "exercise", "exercises.txt")
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	parts := map[string][]exercisePart{}
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		line := strings.TrimSpace(scanner.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		head, rest, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("%s: %q is not STEP: NAME... nor STEP/PART: NAME...", path, line)
		}
		if step, part, inParts := strings.Cut(head, "/"); inParts {
			parts[step] = append(parts[step], exercisePart{part, strings.Fields(rest)})
		}
	}
	return parts, scanner.Err()
}

// exerciseParts returns the parts of the exercise of the step stepName, in
// order: none for a step in one piece.
func exerciseParts(stepName string) ([]exercisePart, error) {
	parts, err := exerciseLines()
	return parts[stepName], err
}

// TestEachStep07CheckHasOnePart reads checkParts against the check list and
// exercises.txt: each of step 07's checks is in one part exactly, each
// part is one of its exercise, and each part has a check, so that make
// check PART= never grades nothing. Step 07 is the only step in parts, and
// partSkeletonCannotFail names checks of its parts alone.
func TestEachStep07CheckHasOnePart(t *testing.T) {
	lines, err := exerciseLines()
	if err != nil {
		t.Fatal(err)
	}
	for stepName := range lines {
		if stepName != partedStep {
			t.Errorf("exercises.txt gives %s parts: checkParts has the checks of %s's parts alone", stepName, partedStep)
		}
	}
	known := map[string]bool{}
	for _, p := range lines[partedStep] {
		known[p.name] = true
		if len(checkParts[p.name]) == 0 {
			t.Errorf("part %s of %s (exercises.txt) has no checks in checkParts: give it those that grade it", p.name, partedStep)
		}
	}
	number, _ := strconv.Atoi(stepNamePattern.FindStringSubmatch(partedStep)[1])
	since := map[string]int{}
	for _, c := range checks {
		since[c.name] = c.since
	}
	partOf := map[string]string{}
	for part, names := range checkParts {
		if !known[part] {
			t.Errorf("checkParts has a part %q, which exercises.txt does not give %s", part, partedStep)
		}
		for _, name := range names {
			if other, twice := partOf[name]; twice {
				t.Errorf("check %s is in parts %s and %s of checkParts: give it one", name, other, part)
			}
			partOf[name] = part
			if since[name] != number {
				t.Errorf("checkParts lists %s in part %s, which is no check of step %02d", name, part, number)
			}
		}
	}
	for _, c := range checks {
		if c.since == number && partOf[c.name] == "" {
			t.Errorf("check %s of %s is in no part of checkParts: add it to the part whose TODOs it grades", c.name, partedStep)
		}
	}
	for name := range partSkeletonCannotFail {
		if partOf[name] == "" {
			t.Errorf("partSkeletonCannotFail lists %s, which is in no part of checkParts", name)
		}
	}
}

// TestPartGradesItsOwnChecksAlone sets -part to each part of step 07 in
// turn: TestSteps must then grade the part's checks of checkParts, and no
// other check of any step.
func TestPartGradesItsOwnChecksAlone(t *testing.T) {
	defer func(saved string) { *partFlag = saved }(*partFlag)
	number, _ := strconv.Atoi(stepNamePattern.FindStringSubmatch(partedStep)[1])
	s := step{number: number, name: partedStep}
	for part, names := range checkParts {
		*partFlag = part
		var got []string
		for _, c := range checks {
			if graded(c, s) {
				got = append(got, c.name)
			}
		}
		want := append([]string(nil), names...)
		sort.Strings(got)
		sort.Strings(want)
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("-part %s grades %q: want the part's checks, %q", part, got, want)
		}
	}
}
