package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// completionScript writes `parcours completion SHELL` to a file.
func completionScript(t *testing.T, shell string) string {
	t.Helper()
	code, out, errOut := run(t, "completion", shell)
	if code != 0 || out == "" {
		t.Fatalf("completion %s: exit %d %s", shell, code, errOut)
	}
	p := filepath.Join(t.TempDir(), "parcours."+shell)
	if err := os.WriteFile(p, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCompletionBash: the bash script completes commands, subcommands
// after global flags, and the values of a flag that takes one of a list,
// as bash's programmable completion calls it.
func TestCompletionBash(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	script := completionScript(t, "bash")
	for _, c := range []struct {
		words string
		want  []string
		not   []string
	}{
		{`parcours sou`, []string{"sources"}, []string{"serve"}},
		{`parcours --json sources ""`, []string{"create", "list", "disable", "--data-dir"}, []string{"serve"}},
		{`parcours sources create --n`, []string{"--name"}, nil},
		{`parcours completion ""`, []string{"--help"}, nil},
		{`parcours gen --log-level ""`, []string{"debug", "info", "warn", "error"}, nil},
	} {
		words := c.words
		cmd := exec.Command(bash, "-c", `source "$1"; eval "COMP_WORDS=($2)"; COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _parcours; printf '%s\n' "${COMPREPLY[@]}"`, "bash", script, words)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", words, err, out)
		}
		got := strings.Fields(string(out))
		for _, w := range c.want {
			if !contains(got, w) {
				t.Errorf("%s: completions %v lack %s", words, got, w)
			}
		}
		for _, w := range c.not {
			if contains(got, w) {
				t.Errorf("%s: completions %v hold %s", words, got, w)
			}
		}
	}
}

// TestCompletionZshFish: the zsh and fish scripts parse in their shell
// (skipped where the shell is not installed), and fish completes as
// bash does.
func TestCompletionZshFish(t *testing.T) {
	for _, shell := range []string{"zsh", "fish"} {
		script := completionScript(t, shell)
		bin, err := exec.LookPath(shell)
		if err != nil {
			t.Logf("no %s: its script is not run", shell)
			continue
		}
		if out, err := exec.Command(bin, "-n", script).CombinedOutput(); err != nil {
			t.Errorf("%s -n: %v\n%s", shell, err, out)
		}
		if shell == "fish" {
			out, err := exec.Command(bin, "-c", `source $argv[1]; complete -C "parcours sources cr"; complete -C "parcours gen --log-level "`, script).CombinedOutput()
			if err != nil {
				t.Fatalf("fish: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), "create\t") || !strings.Contains(string(out), "debug") {
				t.Errorf("fish completions: %s", out)
			}
		}
	}
	if code, _, errOut := run(t, "completion", "powershell"); code != 2 || !strings.Contains(errOut, `"bash","zsh","fish"`) {
		t.Errorf("an unknown shell: exit %d %s", code, errOut)
	}
}

// TestGoInstallable: `go install github.com/parcours/parcours/cmd/parcours@latest`
// (README) needs the module path to be that one, no replace or exclude
// directive (go install refuses them at @version), and a main package
// there.
func TestGoInstallable(t *testing.T) {
	mod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(mod), "module github.com/parcours/parcours\n") {
		t.Errorf("go.mod's module path is not github.com/parcours/parcours")
	}
	for _, line := range strings.Split(string(mod), "\n") {
		if f := strings.Fields(line); len(f) > 0 && (f[0] == "replace" || f[0] == "exclude") {
			t.Errorf("go.mod has %q: go install ...@latest refuses a module with replace or exclude directives", line)
		}
	}
	main, err := os.ReadFile("../../cmd/parcours/main.go")
	if err != nil || !strings.HasPrefix(string(main), "package main") && !strings.Contains(string(main), "\npackage main") {
		t.Errorf("cmd/parcours is not a main package: %v", err)
	}
	readme, _ := os.ReadFile("../../README.md")
	if !strings.Contains(string(readme), "go install github.com/parcours/parcours/cmd/parcours@latest") {
		t.Errorf("README.md does not show go install")
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
