package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/alecthomas/kong"
)

// completionCmd prints a shell's completion script, written from the
// command line's own model: every command, subcommand and flag, and the
// values of flags that take one of a list (--channel, --format).
type completionCmd struct {
	Shell string `arg:"" enum:"bash,zsh,fish" help:"The shell: bash, zsh or fish."`
}

func (c *completionCmd) Help() string {
	return `Load it in the current shell, or install it for every new one:

  bash:  source <(parcours completion bash)
         parcours completion bash > /etc/bash_completion.d/parcours
  zsh:   source <(parcours completion zsh)
         parcours completion zsh > "${fpath[1]}/_parcours"
  fish:  parcours completion fish | source
         parcours completion fish > ~/.config/fish/completions/parcours.fish`
}

func (c *completionCmd) Run(k *kong.Context, e *env) error {
	cmds := completionTable(k.Model.Node)
	switch c.Shell {
	case "bash":
		return writeBash(e.stdout, cmds)
	case "zsh":
		return writeZsh(e.stdout, cmds)
	case "fish":
		return writeFish(e.stdout, cmds)
	}
	return fmt.Errorf("no completion for shell %q: use bash, zsh or fish", c.Shell)
}

// completionEntry is one command path ("parcours sources create") with
// what may follow it.
type completionEntry struct {
	path  string
	help  string
	subs  []*kong.Node
	flags []*kong.Flag
}

// completionTable lists every visible command path, the root first; the
// root's flags (the globals) are offered at every level.
func completionTable(root *kong.Node) []completionEntry {
	var out []completionEntry
	var walk func(n *kong.Node, path string, inherited []*kong.Flag)
	walk = func(n *kong.Node, path string, inherited []*kong.Flag) {
		e := completionEntry{path: path, help: n.Help}
		flags := slices.Clone(inherited)
		for _, f := range n.Flags {
			if !f.Hidden && f.Name != "help" { // --help: offered everywhere by words
				flags = append(flags, f)
			}
		}
		e.flags = flags
		for _, ch := range n.Children {
			if ch.Type == kong.CommandNode && !ch.Hidden {
				e.subs = append(e.subs, ch)
			}
		}
		out = append(out, e)
		for _, ch := range e.subs {
			walk(ch, path+" "+ch.Name, flags)
		}
	}
	walk(root, "parcours", nil)
	return out
}

func (e completionEntry) words() string {
	var w []string
	for _, s := range e.subs {
		w = append(w, s.Name)
	}
	for _, f := range e.flags {
		w = append(w, "--"+f.Name)
	}
	return strings.Join(append(w, "--help"), " ")
}

// enumValues are the values a flag takes, when it takes one of a list
// ("" when it does not; the empty value, meaning unset, is left out).
func enumValues(f *kong.Flag) string {
	var vs []string
	for _, v := range strings.Split(f.Enum, ",") {
		if v = strings.TrimSpace(v); v != "" {
			vs = append(vs, v)
		}
	}
	return strings.Join(vs, " ")
}

func writeBash(w io.Writer, cmds []completionEntry) error {
	var b strings.Builder
	b.WriteString("# bash completion for parcours (parcours completion bash)\n")
	b.WriteString("_parcours() {\n  local cur prev path w i opts\n")
	b.WriteString("  cur=\"${COMP_WORDS[COMP_CWORD]}\"; prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n")
	b.WriteString("  path=parcours\n  for ((i = 1; i < COMP_CWORD; i++)); do\n    w=\"${COMP_WORDS[i]}\"\n    case \"$path $w\" in\n")
	for _, e := range cmds[1:] {
		fmt.Fprintf(&b, "      %q) path=%q ;;\n", e.path, e.path)
	}
	b.WriteString("    esac\n  done\n  case \"$path $prev\" in\n")
	for _, e := range cmds {
		for _, f := range e.flags {
			if v := enumValues(f); v != "" {
				fmt.Fprintf(&b, "    %q) COMPREPLY=($(compgen -W %q -- \"$cur\")); return ;;\n", e.path+" --"+f.Name, v)
			}
		}
	}
	b.WriteString("  esac\n  case \"$path\" in\n")
	for _, e := range cmds {
		fmt.Fprintf(&b, "    %q) opts=%q ;;\n", e.path, e.words())
	}
	b.WriteString("  esac\n  COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n}\ncomplete -o default -F _parcours parcours\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func writeZsh(w io.Writer, cmds []completionEntry) error {
	var b strings.Builder
	b.WriteString("#compdef parcours\n# zsh completion for parcours (parcours completion zsh)\n")
	b.WriteString("_parcours() {\n  local cmdpath=parcours w i\n  local -a opts\n")
	b.WriteString("  for ((i = 2; i < CURRENT; i++)); do\n    w=\"${words[i]}\"\n    case \"$cmdpath $w\" in\n")
	for _, e := range cmds[1:] {
		fmt.Fprintf(&b, "      %q) cmdpath=%q ;;\n", e.path, e.path)
	}
	b.WriteString("    esac\n  done\n  case \"$cmdpath ${words[CURRENT-1]}\" in\n")
	for _, e := range cmds {
		for _, f := range e.flags {
			if v := enumValues(f); v != "" {
				fmt.Fprintf(&b, "    %q) compadd -- %s; return ;;\n", e.path+" --"+f.Name, v)
			}
		}
	}
	b.WriteString("  esac\n  case \"$cmdpath\" in\n")
	for _, e := range cmds {
		fmt.Fprintf(&b, "    %q) opts=(%s) ;;\n", e.path, e.words())
	}
	b.WriteString("  esac\n  compadd -- $opts\n}\nif [[ \"$funcstack[1]\" == _parcours ]]; then _parcours \"$@\"; else compdef _parcours parcours; fi\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func writeFish(w io.Writer, cmds []completionEntry) error {
	var b strings.Builder
	b.WriteString("# fish completion for parcours (parcours completion fish)\n")
	b.WriteString("function __parcours_path\n  set -l path parcours\n  for w in (commandline -opc)[2..-1]\n    switch \"$path $w\"\n")
	for _, e := range cmds[1:] {
		fmt.Fprintf(&b, "      case %s\n        set path %s\n", fishQuote(e.path), fishQuote(e.path))
	}
	b.WriteString("    end\n  end\n  echo $path\nend\n")
	b.WriteString("function __parcours_at\n  test (__parcours_path) = \"$argv[1]\"\nend\n")
	b.WriteString("complete -c parcours -f\n")
	for _, e := range cmds {
		cond := fishQuote("__parcours_at " + fishQuote(e.path))
		for _, s := range e.subs {
			fmt.Fprintf(&b, "complete -c parcours -n %s -a %s -d %s\n", cond, fishQuote(s.Name), fishQuote(firstLine(s.Help)))
		}
		for _, f := range e.flags {
			line := fmt.Sprintf("complete -c parcours -n %s -l %s -d %s", cond, fishQuote(f.Name), fishQuote(firstLine(f.Help)))
			if v := enumValues(f); v != "" {
				line += " -x -a " + fishQuote(v)
			} else if !f.IsBool() {
				line += " -r"
			}
			b.WriteString(line + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func fishQuote(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'"
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
