package tests

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// A transcript is a fenced ```console block of a chapter or of README.md.
// Lines starting with "# " are commands, run as root by one bash per block in
// the repository's top directory; lines starting with "> " continue the
// command above; every other line is expected output (stdout and stderr
// together). In expected output, "[...]" matches any text within a line, and
// a line holding only "[...]" matches any number of lines.
type transcript struct {
	file     string // relative to the repository
	line     int    // of the opening fence
	commands []transcriptCommand
}

type transcriptCommand struct {
	text   string   // the command, continuation lines joined with newlines
	output []string // the expected output lines
}

// transcriptTimeout bounds one block; a block is meant to run in seconds.
const transcriptTimeout = 60 * time.Second

// TestTranscripts runs every transcript in docs/, docs/workshop/ and
// README.md and compares
// its output with the text.
func TestTranscripts(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	worksheets, _ := filepath.Glob(filepath.Join(repoRoot, "docs", "workshop", "*.md"))
	files = append(append(files, worksheets...), filepath.Join(repoRoot, "README.md"))
	count := 0
	for _, file := range files {
		transcripts, err := parseTranscripts(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, tr := range transcripts {
			tr := tr
			count++
			t.Run(fmt.Sprintf("%s:%d", tr.file, tr.line), func(t *testing.T) {
				before, err := takeSnapshot()
				if err != nil {
					t.Fatal(err)
				}
				runTranscript(t, tr)
				if diff := before.diffSettled(); diff != "" {
					t.Errorf("the transcript left the host changed:\n%s", diff)
				}
			})
		}
	}
	if count == 0 {
		t.Fatal("no console transcripts found in docs/ or README.md")
	}
}

// parseTranscripts returns the console blocks of a markdown file.
func parseTranscripts(path string) ([]transcript, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	rel, _ := filepath.Rel(repoRoot, path)
	var out []transcript
	var cur *transcript
	for i, line := range strings.Split(string(data), "\n") {
		switch {
		case cur == nil && strings.TrimSpace(line) == "```console":
			cur = &transcript{file: rel, line: i + 1}
		case cur == nil:
		case strings.TrimSpace(line) == "```":
			out = append(out, *cur)
			cur = nil
		case strings.HasPrefix(line, "# ") || line == "#":
			cur.commands = append(cur.commands, transcriptCommand{text: strings.TrimPrefix(line, "# ")})
		case strings.HasPrefix(line, "> ") && len(cur.commands) > 0:
			c := &cur.commands[len(cur.commands)-1]
			c.text += "\n" + strings.TrimPrefix(line, "> ")
		case len(cur.commands) == 0:
			return nil, fmt.Errorf("%s:%d: a console block must start with a command line ('# ...')", rel, i+1)
		default:
			c := &cur.commands[len(cur.commands)-1]
			c.output = append(c.output, line)
		}
	}
	if cur != nil {
		return nil, fmt.Errorf("%s:%d: console block not closed", rel, cur.line)
	}
	return out, nil
}

// runTranscript runs the block's commands in one bash and compares each
// command's output with the text.
func runTranscript(t *testing.T, tr transcript) {
	marker := fmt.Sprintf("@@tinyrun-transcript-%d@@", time.Now().UnixNano())
	var script strings.Builder
	for i, c := range tr.commands {
		fmt.Fprintf(&script, "printf '\\n%s %d\\n'\n%s\n", marker, i, c.text)
	}
	fmt.Fprintf(&script, "printf '\\n%s end\\n'\n", marker)

	ctx, cancel := context.WithTimeout(context.Background(), transcriptTimeout)
	defer cancel()
	// The script is a file, not bash's stdin, so that a command reading
	// stdin gets /dev/null instead of the rest of the script.
	scriptFile := filepath.Join(t.TempDir(), "transcript.sh")
	if err := os.WriteFile(scriptFile, []byte(script.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	// Each block runs in a network namespace of its own, with only loopback,
	// standing for the reader's machine: a chapter's containers, bridges and
	// firewall rules never touch the real host's (network safety).
	netnsName, err := addScratchNetns()
	if err != nil {
		t.Fatal(err)
	}
	defer deleteScratchNetns(t, netnsName)
	cmd := exec.CommandContext(ctx, "nsenter", inNetns(netnsName, "bash", "--noprofile", "--norc", scriptFile)...)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "PATH="+os.Getenv("PATH")+":/usr/local/sbin:/usr/sbin:/sbin", "LC_ALL=C")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	_ = cmd.Run() // the last command's status is not part of the transcript
	if ctx.Err() != nil {
		t.Fatalf("%s:%d: the block did not finish within %s; output so far:\n%s", tr.file, tr.line, transcriptTimeout, out.String())
	}
	outputs := splitByMarker(out.String(), marker, len(tr.commands))
	for i, c := range tr.commands {
		got := outputs[i]
		if !matchLines(c.output, got) {
			t.Errorf("%s:%d: the output of\n  # %s\ndoes not match the text.\nwant:\n%s\ngot:\n%s",
				tr.file, tr.line, c.text, indent(c.output), indent(got))
		}
	}
}

// splitByMarker cuts bash's output into each command's lines.
func splitByMarker(out, marker string, n int) [][]string {
	outputs := make([][]string, n)
	parts := strings.Split(out, "\n"+marker+" ")
	for _, part := range parts[1:] {
		index, text, _ := strings.Cut(part, "\n")
		var i int
		if _, err := fmt.Sscanf(index, "%d", &i); err != nil || i >= n {
			continue
		}
		if text != "" {
			outputs[i] = strings.Split(strings.TrimSuffix(text, "\n"), "\n")
		}
	}
	return outputs
}

// matchLines reports whether got matches the expected lines want, with the
// "[...]" wildcards described at transcript.
func matchLines(want, got []string) bool {
	// Trailing blank expected lines are only the gap before the fence.
	for len(want) > 0 && strings.TrimSpace(want[len(want)-1]) == "" {
		want = want[:len(want)-1]
	}
	memo := map[[2]int]bool{}
	var match func(i, j int) bool
	match = func(i, j int) bool {
		key := [2]int{i, j}
		if v, ok := memo[key]; ok {
			return v
		}
		var ok bool
		switch {
		case i == len(want):
			ok = j == len(got)
		case strings.TrimSpace(want[i]) == "[...]":
			ok = match(i+1, j) || (j < len(got) && match(i, j+1))
		default:
			ok = j < len(got) && lineMatches(want[i], got[j]) && match(i+1, j+1)
		}
		memo[key] = ok
		return ok
	}
	return match(0, 0)
}

// lineMatches compares one line, "[...]" standing for any text.
func lineMatches(want, got string) bool {
	want, got = strings.TrimRight(want, " \t"), strings.TrimRight(got, " \t")
	if !strings.Contains(want, "[...]") {
		return want == got
	}
	parts := strings.Split(want, "[...]")
	for i := range parts {
		parts[i] = regexp.QuoteMeta(parts[i])
	}
	return regexp.MustCompile("^" + strings.Join(parts, ".*") + "$").MatchString(got)
}

func indent(lines []string) string {
	if len(lines) == 0 {
		return "    (nothing)"
	}
	return "    " + strings.Join(lines, "\n    ")
}
