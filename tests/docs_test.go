package tests

import (
	"bufio"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// A diff block in a chapter is the real diff between two steps:
//
//	<!-- diff: step02-pid step03-mount -->
//	```diff
//	(diff -ru step02-pid step03-mount, without the headers' timestamps)
//	```
//
// and a code excerpt is a verbatim part of a file:
//
//	<!-- from: step03-mount/mount.go -->
//	```go
//	...
//	```
var (
	diffTag    = regexp.MustCompile(`^<!-- diff: (step\d\d-[a-z0-9]+) (step\d\d-[a-z0-9]+) -->$`)
	excerptTag = regexp.MustCompile(`^<!-- from: (\S+) -->$`)
)

// fencedBlock is a tagged fenced block of a markdown file.
type fencedBlock struct {
	tag        []string // the tag's submatches
	start, end int      // line indexes of the content: lines[start:end]
	line       int      // the tag's line number, for messages
}

// taggedBlocks finds the fenced blocks right after a line matching tag.
func taggedBlocks(lines []string, tag *regexp.Regexp) ([]fencedBlock, error) {
	var blocks []fencedBlock
	for i := 0; i < len(lines); i++ {
		m := tag.FindStringSubmatch(strings.TrimSpace(lines[i]))
		if m == nil {
			continue
		}
		if i+1 >= len(lines) || !strings.HasPrefix(lines[i+1], "```") {
			return nil, fmt.Errorf("line %d: %s must be followed by a fenced block", i+1, lines[i])
		}
		end := i + 2
		for end < len(lines) && strings.TrimSpace(lines[end]) != "```" {
			end++
		}
		if end == len(lines) {
			return nil, fmt.Errorf("line %d: fenced block not closed", i+2)
		}
		blocks = append(blocks, fencedBlock{tag: m, start: i + 2, end: end, line: i + 1})
		i = end
	}
	return blocks, nil
}

func chapterFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no chapters in docs/: %v", err)
	}
	worksheets, _ := filepath.Glob(filepath.Join(repoRoot, "docs", "workshop", "*.md"))
	return append(append(files, worksheets...), filepath.Join(repoRoot, "README.md"))
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(string(data), "\n")
}

// stepDiff returns diff -ru from to, run in the repository, without the
// timestamps diff puts after the file names.
func stepDiff(t *testing.T, from, to string) []string {
	t.Helper()
	cmd := exec.Command("diff", "-ru", from, to)
	cmd.Dir = repoRoot
	out, err := cmd.Output()
	if exitErr, ok := err.(*exec.ExitError); err != nil && (!ok || exitErr.ExitCode() != 1) {
		t.Fatalf("diff -ru %s %s: %v", from, to, err)
	}
	timestamp := regexp.MustCompile(`^((?:---|\+\+\+) [^\t]*)\t.*$`)
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	for i, l := range lines {
		lines[i] = timestamp.ReplaceAllString(l, "$1")
	}
	return lines
}

// TestChapterDiffsAreCurrent checks that every diff block shows the real diff
// between its steps; with -update (make diffs) it rewrites them instead.
func TestChapterDiffsAreCurrent(t *testing.T) {
	for _, file := range chapterFiles(t) {
		lines := readLines(t, file)
		blocks, err := taggedBlocks(lines, diffTag)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		changed := false
		// From the last block up, so that rewriting one keeps the indexes of the others.
		for k := len(blocks) - 1; k >= 0; k-- {
			b := blocks[k]
			want := stepDiff(t, b.tag[1], b.tag[2])
			if strings.Join(lines[b.start:b.end], "\n") == strings.Join(want, "\n") {
				continue
			}
			if !*updateFlag {
				t.Errorf("%s:%d: the diff between %s and %s is not the real one: run 'make diffs', then make the text match it",
					filepath.Base(file), b.line, b.tag[1], b.tag[2])
				continue
			}
			lines = append(lines[:b.start], append(want, lines[b.end:]...)...)
			changed = true
		}
		if changed {
			if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("rewrote the diffs of %s", file)
		}
	}
}

// TestEveryStepHasAChapterWithItsDiff checks that chapter NN exists for every
// step NN and, from step 02 on, shows the diff from the step before.
func TestEveryStepHasAChapterWithItsDiff(t *testing.T) {
	steps, err := findSteps()
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range steps {
		chapters, _ := filepath.Glob(filepath.Join(repoRoot, "docs", fmt.Sprintf("%02d-*.md", s.number)))
		if len(chapters) != 1 {
			t.Errorf("%s: want one chapter docs/%02d-*.md, found %d", s.name, s.number, len(chapters))
			continue
		}
		if i == 0 {
			continue
		}
		blocks, err := taggedBlocks(readLines(t, chapters[0]), diffTag)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, b := range blocks {
			found = found || (b.tag[1] == steps[i-1].name && b.tag[2] == s.name)
		}
		if !found {
			t.Errorf("%s: want the diff from %s in a block tagged '<!-- diff: %s %s -->'",
				filepath.Base(chapters[0]), steps[i-1].name, steps[i-1].name, s.name)
		}
	}
}

// TestCodeExcerptsMatchSource checks that every code excerpt in the chapters
// is, byte for byte, part of the file it names. With -update (make diffs) it
// copies again an excerpt that is one whole declaration (a func, type, var
// or const, with its comment) from the file; the text around it is yours to
// check.
func TestCodeExcerptsMatchSource(t *testing.T) {
	for _, file := range chapterFiles(t) {
		lines := readLines(t, file)
		blocks, err := taggedBlocks(lines, excerptTag)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		changed := false
		for k := len(blocks) - 1; k >= 0; k-- {
			b := blocks[k]
			source := readFileString(filepath.Join(repoRoot, b.tag[1]))
			if source == "" {
				t.Errorf("%s:%d: %s does not exist", filepath.Base(file), b.line, b.tag[1])
				continue
			}
			excerpt := strings.Join(lines[b.start:b.end], "\n")
			if strings.Contains(source, excerpt) {
				continue
			}
			if *updateFlag {
				if fresh, ok := declarationAgain(source, excerpt); ok {
					lines = append(lines[:b.start], append(strings.Split(fresh, "\n"), lines[b.end:]...)...)
					changed = true
					continue
				}
			}
			t.Errorf("%s:%d: this excerpt is no longer in %s: copy it again from the file (make diffs does it for a whole declaration):\n%s",
				filepath.Base(file), b.line, b.tag[1], excerpt)
		}
		if changed {
			if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("copied excerpts of %s again", file)
		}
	}
}

// declarationPattern finds the name an excerpt declares.
var declarationPattern = regexp.MustCompile(`(?m)^(?:func (?:\([^)]*\) )?|type |var |const )(\w+)`)

// declarationAgain returns the current text, in source, of the one
// declaration that excerpt shows, with its doc comment if excerpt has one.
func declarationAgain(source, excerpt string) (string, bool) {
	names := declarationPattern.FindAllStringSubmatch(excerpt, -1)
	if len(names) != 1 {
		return "", false
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "", source, parser.ParseComments)
	if err != nil {
		return "", false
	}
	for _, decl := range f.Decls {
		var name string
		var doc *ast.CommentGroup
		switch d := decl.(type) {
		case *ast.FuncDecl:
			name, doc = d.Name.Name, d.Doc
		case *ast.GenDecl:
			if len(d.Specs) != 1 {
				continue
			}
			switch spec := d.Specs[0].(type) {
			case *ast.TypeSpec:
				name = spec.Name.Name
			case *ast.ValueSpec:
				name = spec.Names[0].Name
			}
			doc = d.Doc
		}
		if name != names[0][1] {
			continue
		}
		start := decl.Pos()
		if doc != nil && strings.HasPrefix(strings.TrimSpace(excerpt), "//") {
			start = doc.Pos()
		}
		return source[fset.Position(start).Offset:fset.Position(decl.End()).Offset], true
	}
	return "", false
}

// TestCodePointsAtExistingChapters checks that every docs/*.md the code
// names exists, so the code's pointers to the chapters stay true.
func TestCodePointsAtExistingChapters(t *testing.T) {
	mention := regexp.MustCompile(`docs/[0-9a-z-]+\.md`)
	files, _ := filepath.Glob(filepath.Join(repoRoot, "step*", "*.go"))
	for _, f := range files {
		for _, m := range mention.FindAllString(readFileString(f), -1) {
			if _, err := os.Stat(filepath.Join(repoRoot, m)); err != nil {
				rel, _ := filepath.Rel(repoRoot, f)
				t.Errorf("%s names %s, which does not exist", rel, m)
			}
		}
	}
}

// TestCarriedFilesAreDeclared enforces the carry-over rule: every file of a
// step is in the next step, byte for byte, unless carryover.txt declares the
// change. A bug fixed in one step and not in the next shows up here.
func TestCarriedFilesAreDeclared(t *testing.T) {
	declared := readCarryover(t)
	steps, err := findSteps()
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for i := 1; i < len(steps); i++ {
		prev, next := steps[i-1].name, steps[i].name
		files, _ := filepath.Glob(filepath.Join(repoRoot, prev, "*"))
		for _, f := range files {
			name := filepath.Base(f)
			carried := filepath.Join(next, name)
			after, err := os.ReadFile(filepath.Join(repoRoot, carried))
			if err != nil {
				t.Errorf("%s/%s is not carried to %s: every step holds every file of the step before", prev, name, next)
				continue
			}
			same := string(after) == readFileString(f)
			_, isDeclared := declared[carried]
			used[carried] = true
			switch {
			case !same && !isDeclared:
				t.Errorf("%s differs from %s/%s, and carryover.txt does not say why: if you fixed a bug in one, fix it in the other; if the change is this step's lesson, declare it in carryover.txt",
					carried, prev, name)
			case same && isDeclared:
				t.Errorf("carryover.txt declares a change to %s, but it is identical to %s/%s: remove the line", carried, prev, name)
			}
		}
	}
	var unknown []string
	for f := range declared {
		if !used[f] {
			unknown = append(unknown, f)
		}
	}
	sort.Strings(unknown)
	for _, f := range unknown {
		t.Errorf("carryover.txt declares %s, which is not a file carried from the step before", f)
	}
}

// readCarryover reads carryover.txt: "stepNN-name/file: why it changes".
func readCarryover(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, "carryover.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	declared := map[string]string{}
	scanner := bufio.NewScanner(f)
	for n := 1; scanner.Scan(); n++ {
		line := strings.TrimSpace(scanner.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		file, why, ok := strings.Cut(line, ": ")
		if !ok || strings.TrimSpace(why) == "" {
			t.Errorf("carryover.txt:%d: want 'stepNN-name/file: why it changes', got %q", n, line)
			continue
		}
		declared[file] = why
	}
	return declared
}
