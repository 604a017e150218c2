// Command exercise makes a workshop participant's workspace for one step:
// a copy of the step's code in which the declarations that exercises.txt
// names for it are left to write, each with a TODO made from the code
// itself. make exercise STEP=N runs it; make check STEP=N grades the result.
//
//	go run ./scripts/exercise STEPDIR OUTDIR   e.g. step03-mount exercise/step03-mount
//	go run ./scripts/exercise -part 3 step07-full exercise/step07-full-part-3
//
// A step whose exercise comes in parts (step 07's) can be made one part at
// a time: -part leaves only that part's declarations TODO, and the rest of
// the step is the real code. A part with nothing to write makes no
// workspace: one line says what to read instead.
//
// A function's body becomes a TODO comment and a return of zero values, with
// fmt.Errorf("not implemented: NAME") for its error, so that the skeleton
// compiles and every check that needs it fails until it is written. A
// constant becomes 0 (or false). The TODO says:
//
//	Goal   the declaration's own comment (its contract)
//	Use    the calls its real body makes into unix, netlink, netns and os
//	Read   the man pages its comment cites, or else its file's
//
// Nothing is marked in the steps' code, so the chapters' excerpts and the
// steps' diffs stay as they are. Read: go/ast, go/parser, go/format.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// exerciseList is the list of exercises, from the repository's top
// directory, where make runs this.
const exerciseList = "scripts/exercise/exercises.txt"

func main() {
	part := flag.String("part", "", "leave only this part of the step TODO, e.g. 3 (exercises.txt)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: go run ./scripts/exercise [-part PART] STEPDIR OUTDIR")
	}
	flag.Parse()
	if flag.NArg() != 2 {
		flag.Usage()
		os.Exit(2)
	}
	stepDir, outDir := flag.Arg(0), flag.Arg(1)
	names, err := exerciseNames(exerciseList, stepDir, *part)
	if err != nil {
		fmt.Fprintf(os.Stderr, "exercise: %v\n", err)
		os.Exit(1)
	}
	if len(names) == 0 {
		fmt.Printf("Part %s of %s has nothing to write: read %s, and run its commands.\n", *part, stepDir, chapterPart(stepDir, *part))
		return
	}
	todos, err := makeWorkspace(stepDir, outDir, names)
	if err != nil {
		fmt.Fprintf(os.Stderr, "exercise: %v\n", err)
		os.Exit(1)
	}
	plural := "s"
	if len(todos) == 1 {
		plural = ""
	}
	fmt.Printf("%s: %d TODO%s to write, in this order:\n", outDir, len(todos), plural)
	for i, t := range todos {
		fmt.Printf("  %d. %s\n", i+1, t)
	}
}

// makeWorkspace copies the step's Go files (not its unit tests) from
// stepDir to outDir, with the declarations names left TODO, and returns
// the TODOs as "file: name", in the order of names.
func makeWorkspace(stepDir, outDir string, names []string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(stepDir, "*.go"))
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, err
	}
	left := map[string]bool{}
	for _, n := range names {
		left[n] = true
	}
	var todos []string
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		out, done, err := stub(path, src, left)
		if err != nil {
			return nil, err
		}
		for _, name := range done {
			todos = append(todos, filepath.Base(path)+": "+name)
			delete(left, name)
		}
		if err := os.WriteFile(filepath.Join(outDir, filepath.Base(path)), out, 0o644); err != nil {
			return nil, err
		}
	}
	if len(left) > 0 {
		var missing []string
		for n := range left {
			missing = append(missing, n)
		}
		sort.Strings(missing)
		return nil, fmt.Errorf("%s: exercises.txt names %s, which the step does not declare (as a function returning an error, or a constant)", stepDir, strings.Join(missing, ", "))
	}
	sort.SliceStable(todos, func(i, j int) bool { return order(names, todos[i]) < order(names, todos[j]) })
	return todos, nil
}

// order is the place of a "file: name" TODO in the exercises' list.
func order(names []string, todo string) int {
	_, name, _ := strings.Cut(todo, ": ")
	for i, n := range names {
		if n == name {
			return i
		}
	}
	return len(names)
}

// exercise is one line of exercises.txt: the declarations a step, or a
// part of one, leaves to write.
type exercise struct {
	step  string   // step07-full
	part  string   // 3, or "" for a step in one piece
	names []string // in the order to write them; none for a part to read
}

// readExercises reads the lines of exercises.txt, in their order.
func readExercises(list string) ([]exercise, error) {
	f, err := os.Open(list)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var exercises []exercise
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		line := strings.TrimSpace(scanner.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		head, rest, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("%s: %q is not STEP: NAME... nor STEP/PART: NAME...", list, line)
		}
		step, part, _ := strings.Cut(head, "/")
		exercises = append(exercises, exercise{step: step, part: part, names: strings.Fields(rest)})
	}
	return exercises, scanner.Err()
}

// exerciseNames returns the names exercises.txt lists for the step
// stepDir: those of part, or with part "" those of every part in order.
// A part with nothing to write gives none, and no error.
func exerciseNames(list, stepDir, part string) ([]string, error) {
	exercises, err := readExercises(list)
	if err != nil {
		return nil, err
	}
	step := filepath.Base(filepath.Clean(stepDir))
	var names, parts []string
	found := false
	for _, e := range exercises {
		if e.step != step {
			continue
		}
		if e.part != "" {
			parts = append(parts, e.part)
		}
		if part == "" || e.part == part {
			names = append(names, e.names...)
			found = true
		}
	}
	switch {
	case part != "" && len(parts) == 0:
		return nil, fmt.Errorf("%s comes in one piece, not in parts: leave out the part", step)
	case part != "" && !found:
		return nil, fmt.Errorf("%s has no part %q: choose one of %s", step, part, strings.Join(parts, ", "))
	case !found:
		return nil, fmt.Errorf("%s lists no exercises for %s", list, step)
	}
	return names, nil
}

// chapterPart names the section of the step's chapter that teaches part,
// as "Part 1 · The spec and the bundle" in docs/07-full.md, found by its
// heading; or the chapter alone when no heading starts "## Part PART ".
func chapterPart(stepDir, part string) string {
	number := strings.TrimPrefix(filepath.Base(filepath.Clean(stepDir)), "step")
	chapters, _ := filepath.Glob(filepath.Join("docs", number[:min(2, len(number))]+"-*.md"))
	if len(chapters) != 1 {
		return "its part of the step's chapter in docs/"
	}
	text, err := os.ReadFile(chapters[0])
	if err != nil {
		return chapters[0]
	}
	for _, line := range strings.Split(string(text), "\n") {
		if heading, ok := strings.CutPrefix(line, "## "); ok && strings.HasPrefix(heading, "Part "+part+" ") {
			return fmt.Sprintf("%q in %s", heading, chapters[0])
		}
	}
	return chapters[0]
}

// edit replaces src[start:end] with text.
type edit struct {
	start, end int
	text       string
}

// stub returns src with the declarations of file path that are in names
// left TODO, the names it stubbed, and the source gofmt-ed.
func stub(path string, src []byte, names map[string]bool) ([]byte, []string, error) {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, path, src, parser.ParseComments)
	if err != nil {
		return nil, nil, err
	}
	header := manPages(file.Doc.Text())
	var edits []edit
	var done []string
	for _, decl := range file.Decls {
		switch d := decl.(type) {
		case *ast.FuncDecl:
			if !names[d.Name.Name] || d.Body == nil {
				continue
			}
			body, err := todoBody(d, src, fset, header)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", path, err)
			}
			edits = append(edits, edit{fset.Position(d.Body.Lbrace).Offset, fset.Position(d.Body.Rbrace).Offset + 1, body})
			done = append(done, d.Name.Name)
		case *ast.GenDecl:
			if d.Tok != token.CONST {
				continue
			}
			for _, spec := range d.Specs {
				v := spec.(*ast.ValueSpec)
				if len(v.Names) != 1 || len(v.Values) != 1 || !names[v.Names[0].Name] {
					continue
				}
				zero := "0"
				if id, ok := v.Values[0].(*ast.Ident); ok && (id.Name == "true" || id.Name == "false") {
					zero = "false"
				}
				value := fset.Position(v.Values[0].Pos()).Offset
				edits = append(edits, edit{value, fset.Position(v.Values[0].End()).Offset,
					zero + " // TODO: the value that makes this work; the comment above says what it is for"})
				done = append(done, v.Names[0].Name)
			}
		}
	}
	if len(edits) == 0 {
		return src, nil, nil
	}
	out := apply(src, edits)
	out, err = fixImports(path, out)
	if err != nil {
		return nil, nil, err
	}
	formatted, err := format.Source(out)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: the skeleton does not format: %w", path, err)
	}
	return formatted, done, nil
}

// apply makes the edits, which do not overlap, from the last one back.
func apply(src []byte, edits []edit) []byte {
	sort.Slice(edits, func(i, j int) bool {
		if edits[i].start != edits[j].start {
			return edits[i].start > edits[j].start
		}
		return edits[i].end > edits[j].end // at one place: what goes, before what comes
	})
	out := append([]byte(nil), src...)
	for _, e := range edits {
		out = append(out[:e.start], append([]byte(e.text), out[e.end:]...)...)
	}
	return out
}

// todoBody is the new body of d: its goal, the calls to make and the man
// pages to read, then a return of zero values.
func todoBody(d *ast.FuncDecl, src []byte, fset *token.FileSet, fileManPages []string) (string, error) {
	var results []string
	if d.Type.Results != nil {
		for _, field := range d.Type.Results.List {
			n := len(field.Names)
			if n == 0 {
				n = 1
			}
			for i := 0; i < n; i++ {
				zero, err := zeroValue(field.Type, d.Name.Name)
				if err != nil {
					return "", err
				}
				results = append(results, zero)
			}
		}
	}
	var b strings.Builder
	b.WriteString("{\n")
	fmt.Fprintf(&b, "\t// TODO: %s\n", wrap(strings.Fields(d.Doc.Text()), "\t//       "))
	if calls := callsIn(d.Body); len(calls) > 0 {
		fmt.Fprintf(&b, "\t// Use: %s\n", wrap(commas(calls), "\t//      "))
	}
	pages := manPages(d.Doc.Text())
	if len(pages) == 0 {
		pages = fileManPages
	}
	if len(pages) > 0 {
		fmt.Fprintf(&b, "\t// Read: %s\n", wrap(commas(pages), "\t//       "))
	}
	if len(results) > 0 {
		fmt.Fprintf(&b, "\treturn %s\n", strings.Join(results, ", "))
	}
	b.WriteString("}")
	return b.String(), nil
}

// zeroValue is the zero value of a result of type t, and for an error the
// error that says what is not implemented yet.
func zeroValue(t ast.Expr, name string) (string, error) {
	switch t := t.(type) {
	case *ast.Ident:
		switch t.Name {
		case "error":
			return fmt.Sprintf("fmt.Errorf(%q)", "not implemented: "+name), nil
		case "bool":
			return "false", nil
		case "string":
			return `""`, nil
		case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "uintptr", "float64", "float32":
			return "0", nil
		}
		return t.Name + "{}", nil // a struct or map type of the step
	case *ast.SelectorExpr:
		return fmt.Sprintf("%s.%s{}", t.X.(*ast.Ident).Name, t.Sel.Name), nil
	case *ast.StarExpr, *ast.ArrayType, *ast.MapType, *ast.FuncType, *ast.ChanType, *ast.InterfaceType:
		return "nil", nil
	}
	return "", fmt.Errorf("%s: cannot write a zero value for its result type %T", name, t)
}

// callsIn lists the calls body makes into the packages a participant
// needs to know: unix.Mount, netlink.LinkAdd, os.Mkdir...
func callsIn(body *ast.BlockStmt) []string {
	seen := map[string]bool{}
	var calls []string
	ast.Inspect(body, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		// The step's own helpers, which the skeleton keeps.
		if id, ok := call.Fun.(*ast.Ident); ok && (id.Obj == nil || id.Obj.Kind == ast.Fun) && !builtins[id.Name] {
			if !seen[id.Name] {
				seen[id.Name] = true
				calls = append(calls, id.Name)
			}
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		pkg, ok := sel.X.(*ast.Ident)
		if !ok {
			return true
		}
		switch pkg.Name {
		case "unix", "netlink", "netns", "os", "syscall", "tar", "exec":
			name := pkg.Name + "." + sel.Sel.Name
			if !seen[name] {
				seen[name] = true
				calls = append(calls, name)
			}
		}
		return true
	})
	return calls
}

// builtins are Go's own functions, which need no mention.
var builtins = map[string]bool{"append": true, "len": true, "make": true, "new": true, "cap": true,
	"copy": true, "delete": true, "panic": true, "string": true, "byte": true, "uint32": true, "int": true,
	"uintptr": true, "uint64": true, "int64": true, "error": true, "min": true, "max": true}

var (
	manPagePattern = regexp.MustCompile(`man [1-8] [a-z_0-9.-]+|[a-z_0-9]+\([1-8]\)|[a-zA-Z0-9/_-]+\.rst`)
	manReference   = regexp.MustCompile(`^([a-z_0-9]+)\(([1-8])\)$`)
)

// manPages lists the man pages and kernel documents ("cgroup-v2.rst") that
// a comment cites, each once: a page cited as "mount(2)" is listed as
// "man 2 mount", the command that opens it, so that a comment citing it
// both ways names it once.
func manPages(comment string) []string {
	seen := map[string]bool{}
	var pages []string
	for _, p := range manPagePattern.FindAllString(strings.Join(strings.Fields(comment), " "), -1) {
		p = strings.TrimSuffix(p, ".")
		p = manReference.ReplaceAllString(p, "man $2 $1")
		if !seen[p] {
			seen[p] = true
			pages = append(pages, p)
		}
	}
	return pages
}

// wrap joins words with spaces into lines of about 72 columns, each after
// the first starting with prefix. A word is never broken: "man 2 mount",
// given as one word, stays on one line.
func wrap(words []string, prefix string) string {
	var b strings.Builder
	width := 0
	for i, word := range words {
		if i > 0 && width+len(word) > 66 {
			b.WriteString("\n" + prefix)
			width = 0
		} else if i > 0 {
			b.WriteString(" ")
			width++
		}
		b.WriteString(word)
		width += len(word)
	}
	return b.String()
}

// commas returns items with a comma after each but the last, for wrap.
func commas(items []string) []string {
	out := make([]string, len(items))
	for i, item := range items {
		out[i] = item
		if i < len(items)-1 {
			out[i] += ","
		}
	}
	return out
}

// fixImports removes the imports that the stubbed bodies were the only
// users of, and adds fmt for the "not implemented" errors.
func fixImports(path string, src []byte) ([]byte, error) {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, path, src, parser.ParseComments)
	if err != nil {
		return nil, fmt.Errorf("%s: the skeleton does not parse: %w", path, err)
	}
	used := map[string]bool{}
	ast.Inspect(file, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok {
				used[id.Name] = true
			}
		}
		return true
	})
	var edits []edit
	hasFmt := false
	var firstImport *ast.GenDecl
	for _, decl := range file.Decls {
		d, ok := decl.(*ast.GenDecl)
		if !ok || d.Tok != token.IMPORT {
			continue
		}
		if firstImport == nil {
			firstImport = d
		}
		for _, spec := range d.Specs {
			spec := spec.(*ast.ImportSpec)
			importPath, _ := strconv.Unquote(spec.Path.Value)
			name := packageName(importPath)
			if spec.Name != nil {
				name = spec.Name.Name
			}
			if importPath == "fmt" {
				hasFmt = true
			}
			if name == "_" || name == "." || used[name] || (importPath == "fmt" && bytes.Contains(src, []byte("fmt.Errorf("))) {
				continue
			}
			// The spec, or the whole declaration when it has no parentheses.
			var from, to token.Pos = spec.Pos(), spec.End()
			if !d.Lparen.IsValid() {
				from, to = d.Pos(), d.End()
			}
			edits = append(edits, edit{fset.Position(from).Offset, fset.Position(to).Offset, ""})
		}
	}
	if !hasFmt && bytes.Contains(src, []byte("fmt.Errorf(")) {
		if firstImport == nil {
			return nil, errors.New(path + ": no import declaration to add fmt to")
		}
		at := fset.Position(firstImport.Pos()).Offset
		edits = append(edits, edit{at, at, "import \"fmt\"\n"})
	}
	return apply(src, edits), nil
}

// packageName is the name a package is imported under by default: the
// last element of its path, before a major version suffix (cli/v2 is cli).
func packageName(importPath string) string {
	parts := strings.Split(importPath, "/")
	last := parts[len(parts)-1]
	if regexp.MustCompile(`^v[0-9]+$`).MatchString(last) && len(parts) > 1 {
		last = parts[len(parts)-2]
	}
	return last
}
