// Package tests is tinyrun's black-box test suite and the workshop's grader.
//
// It builds the step binaries, runs them as root on the busybox rootfs and
// checks, from inside the container and from the host, what each step
// promises. Checks are cumulative: step N must pass its own and every earlier
// step's. Around every check it compares a snapshot of the host (mounts,
// links, hostname, processes, rootfs, state directories) and fails on any
// difference, so a leak is reported by the check that caused it.
//
// Map of the suite:
//
//	main_test.go         flags, TestMain (root check, build, report)
//	steps_test.go        TestSteps: the table of checks, run per step
//	runner_test.go       running a step binary and reading its result
//	host_test.go         the host snapshot
//	uts_test.go, pid_test.go, mount_test.go, cli_test.go   the checks
//	transcripts_test.go  TestTranscripts: every console block in docs/ and README.md
//	docs_test.go         chapter diffs, code excerpts, the carry-over rule
//
// Grading a learner's step (see README.md, "Workshop"):
//
//	make check STEP=3                    grade bin/step03-mount
//	make check STEP=3 BIN=path/to/binary grade another binary
//	make check STEP=3 DIR=mywork/step03  build a directory of this module, then grade it
//	make check STEP=7 PART=3             grade only part 3 of step 07's exercise (checkParts)
package tests

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

var (
	gradeFlag  = flag.Bool("grade", false, "print PASS/FAIL and a hint for every check (workshop mode)")
	stepFlag   = flag.String("step", "", "test only this step, e.g. step03-mount (with its earlier steps' checks)")
	binFlag    = flag.String("bin", "", "with -step: the binary to test instead of building the step")
	dirFlag    = flag.String("dir", "", "with -step: a directory of this module to build and test instead of the step")
	partFlag   = flag.String("part", "", "with -step: test only the checks of this part of the step's exercise, e.g. 3 (scripts/exercise/exercises.txt)")
	updateFlag = flag.Bool("update", false, "rewrite the diff blocks of docs/ from the real steps")
	// The test VM (make test-vm) has no Go: it tests what make build made.
	prebuiltFlag = flag.Bool("prebuilt", false, "test the binaries in bin/ as they are, without building them")
	// A run of the suite inside another (TestExerciseSkeletons), which holds
	// the lock and has set up the test network and the test image.
	nestedFlag = flag.Bool("nested", false, "run inside another run of the suite, using its lock, network and image")
)

// repoRoot is the repository's top directory; rootfsDir the rootfs the
// checks run on (built by 'make rootfs').
var repoRoot, rootfsDir string

// stepNamePattern matches a step directory's name and captures its number.
var stepNamePattern = regexp.MustCompile(`^step(\d\d)-[a-z0-9]+$`)

// step is one step binary under test.
type step struct {
	number int    // 1 for step01-uts
	name   string // step01-uts
	bin    string // the binary to run
}

// stepsUnderTest is every step found in the repository, or the one named by -step.
var stepsUnderTest []step

// suiteLock holds the flock that keeps a second run of the suite out. A
// package variable: a local one could be finalized by the garbage
// collector, which would close the file, and so release the lock, mid-run.
var suiteLock *os.File

func TestMain(m *testing.M) {
	flag.Parse()
	if err := setUp(); err != nil {
		fmt.Fprintf(os.Stderr, "tests: %v\n", err)
		os.Exit(1)
	}
	if *nestedFlag {
		status := m.Run()
		printReport()
		os.Exit(status)
	}
	// One run of the suite at a time: runs share the test's network
	// namespaces, the runtime's state and the host snapshot.
	var err error
	suiteLock, err = os.OpenFile(filepath.Join(os.TempDir(), "tinyrun-tests.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err == nil {
		err = unix.Flock(int(suiteLock.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "tests: another run of the suite is in progress (%v): wait for it to finish\n", err)
		os.Exit(1)
	}
	before, err := takeSnapshot()
	if err != nil {
		fmt.Fprintf(os.Stderr, "tests: snapshot the host: %v\n", err)
		os.Exit(1)
	}
	netnsDir := rememberNetnsDir()
	if err := setUpTestNetwork(); err != nil {
		fmt.Fprintf(os.Stderr, "tests: %v\n", err)
		if err := tearDownTestNetwork(); err != nil {
			fmt.Fprintf(os.Stderr, "tests: %v\n", err)
		}
		os.Exit(1)
	}
	if err := importTestImage(); err != nil {
		fmt.Fprintf(os.Stderr, "tests: %v\n", err)
		status := 1
		if err := tearDownTestNetwork(); err != nil {
			fmt.Fprintf(os.Stderr, "tests: %v\n", err)
		}
		os.Exit(status)
	}
	// What the checks must leave as they found it: the host, with the
	// suite's test network and image.
	status := 1
	if start, err := takeSnapshot(); err != nil {
		fmt.Fprintf(os.Stderr, "tests: snapshot the host: %v\n", err)
	} else {
		suiteStart = &start
		status = m.Run()
	}
	if err := removeTestImage(); err != nil {
		fmt.Fprintf(os.Stderr, "tests: %v\n", err)
		status = 1
	}
	if err := tearDownTestNetwork(); err != nil {
		fmt.Fprintf(os.Stderr, "tests: %v\n", err)
		status = 1
	}
	if err := netnsDir.restore(); err != nil {
		fmt.Fprintf(os.Stderr, "tests: %v\n", err)
		status = 1
	}
	after, err := takeSnapshot()
	if err != nil {
		fmt.Fprintf(os.Stderr, "tests: snapshot the host: %v\n", err)
		status = 1
	} else if diff := before.diff(after); diff != "" {
		fmt.Fprintf(os.Stderr, "tests: the host is not as the suite found it:\n%s\n", diff)
		status = 1
	}
	printReport()
	os.Exit(status)
}

// setUp checks that the suite can run at all and builds what it tests.
func setUp() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("the tests need root (they create namespaces and mounts): run 'sudo make test'")
	}
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	repoRoot = filepath.Dir(wd)
	rootfsDir = filepath.Join(repoRoot, "rootfs")
	if _, err := os.Stat(filepath.Join(rootfsDir, "bin", "busybox")); err != nil {
		return fmt.Errorf("no rootfs at %s: run 'make rootfs' first", rootfsDir)
	}
	steps, err := findSteps()
	if err != nil {
		return err
	}
	if *binFlag != "" || *dirFlag != "" || *partFlag != "" {
		if *stepFlag == "" {
			return fmt.Errorf("-bin, -dir and -part need -step NAME, e.g. -step step03-mount")
		}
	}
	if *stepFlag != "" {
		return chooseStep(steps)
	}
	if !*prebuiltFlag {
		if err := build(filepath.Join(repoRoot, "bin"), stepDirs(steps)...); err != nil {
			return err
		}
	}
	stepsUnderTest = steps
	return nil
}

// findSteps lists the repository's step directories, in order.
func findSteps() ([]step, error) {
	entries, err := os.ReadDir(repoRoot)
	if err != nil {
		return nil, err
	}
	var steps []step
	for _, e := range entries {
		m := stepNamePattern.FindStringSubmatch(e.Name())
		if !e.IsDir() || m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[1])
		steps = append(steps, step{number: n, name: e.Name(), bin: filepath.Join(repoRoot, "bin", e.Name())})
	}
	if len(steps) == 0 {
		return nil, fmt.Errorf("no step directories found in %s", repoRoot)
	}
	return steps, nil
}

// chooseStep narrows the suite to -step, tested as -bin, built from -dir, or built from the step itself.
func chooseStep(steps []step) error {
	var chosen *step
	for i := range steps {
		if steps[i].name == *stepFlag || strings.HasPrefix(steps[i].name, *stepFlag+"-") {
			chosen = &steps[i]
		}
	}
	if chosen == nil {
		m := regexp.MustCompile(`^step(\d\d)`).FindStringSubmatch(*stepFlag)
		if m == nil {
			return fmt.Errorf("-step %q: name a step such as step03-mount", *stepFlag)
		}
		n, _ := strconv.Atoi(m[1])
		chosen = &step{number: n, name: *stepFlag, bin: filepath.Join(repoRoot, "bin", *stepFlag)}
	}
	if *partFlag != "" {
		if err := checkPartExists(chosen.name, *partFlag); err != nil {
			return err
		}
	}
	switch {
	case *binFlag != "":
		chosen.bin = *binFlag
		if _, err := os.Stat(chosen.bin); err != nil {
			return fmt.Errorf("-bin %s: %w", chosen.bin, err)
		}
	case *dirFlag != "":
		out := filepath.Join(repoRoot, "bin", "graded-"+chosen.name)
		if err := buildOne(out, *dirFlag); err != nil {
			return err
		}
		chosen.bin = out
	default:
		if err := build(filepath.Join(repoRoot, "bin"), "./"+chosen.name); err != nil {
			return err
		}
	}
	stepsUnderTest = []step{*chosen}
	return nil
}

// checkPartExists returns an error unless part is a part of the exercise of
// the step named stepName, which TestSteps then grades alone (checkParts).
func checkPartExists(stepName, part string) error {
	parts, err := exerciseParts(stepName)
	if err != nil {
		return err
	}
	var names []string
	for _, p := range parts {
		if p.name == part {
			return nil
		}
		names = append(names, p.name)
	}
	if len(names) == 0 {
		return fmt.Errorf("-part %q: %s comes in one piece, with no parts: leave out -part (PART=)", part, stepName)
	}
	return fmt.Errorf("-part %q: %s has no such part: choose one of %s", part, stepName, strings.Join(names, ", "))
}

func stepDirs(steps []step) []string {
	var dirs []string
	for _, s := range steps {
		dirs = append(dirs, "./"+s.name)
	}
	return dirs
}

// goCommand finds the go command: go test puts its own GOROOT/bin first in PATH.
func goCommand() string {
	if path, err := exec.LookPath("go"); err == nil {
		return path
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// build builds packages (directories of this module) into the directory out.
func build(out string, packages ...string) error {
	cmd := exec.Command(goCommand(), append([]string{"build", "-o", out + "/"}, packages...)...)
	cmd.Dir = repoRoot
	if output, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", strings.Join(packages, " "), err, output)
	}
	return nil
}

// buildOne builds the package in dir into the file out.
func buildOne(out, dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	cmd := exec.Command(goCommand(), "build", "-o", out, ".")
	cmd.Dir = abs
	if output, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build in %s: %v\n%s", dir, err, output)
	}
	return nil
}

// outcome is one check's result on one step, for the report.
type outcome struct {
	step    step
	check   string
	passed  bool
	hint    string
	lastRun string // what the check's last run of the step did, for a failure
}

var (
	outcomesMu sync.Mutex
	outcomes   []outcome
)

func record(o outcome) {
	outcomesMu.Lock()
	defer outcomesMu.Unlock()
	outcomes = append(outcomes, o)
}

// printReport prints how many checks ran and passed per step and, in grading
// mode or for a failure, a line per check with its hint.
func printReport() {
	if len(outcomes) == 0 {
		return
	}
	type tally struct{ ran, passed int }
	perStep := map[string]*tally{}
	var names []string
	fmt.Println()
	fmt.Println("tinyrun checks")
	for _, o := range outcomes {
		t := perStep[o.step.name]
		if t == nil {
			t = &tally{}
			perStep[o.step.name] = t
			names = append(names, o.step.name)
		}
		t.ran++
		if o.passed {
			t.passed++
		}
		if *gradeFlag || !o.passed {
			status := "PASS"
			if !o.passed {
				status = "FAIL"
			}
			fmt.Printf("  %s %s %s\n", status, o.step.name, o.check)
			if !o.passed && o.lastRun != "" {
				fmt.Printf("       got:  %s\n", o.lastRun)
			}
			if !o.passed {
				fmt.Printf("       hint: %s\n", strings.ReplaceAll(o.hint, "\n", "\n       "))
			}
		}
	}
	sort.Strings(names)
	total, failed := 0, 0
	for _, name := range names {
		t := perStep[name]
		fmt.Printf("  %-18s %3d checks, %3d passed, %3d failed\n", name, t.ran, t.passed, t.ran-t.passed)
		total += t.ran
		failed += t.ran - t.passed
	}
	fmt.Printf("checks: %d passed, %d failed\n", total-failed, failed)
}
