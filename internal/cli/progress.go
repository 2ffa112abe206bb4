package cli

import (
	"io"
	"os"

	"golang.org/x/term"
)

// interactive reports whether w is a terminal: progress bars are drawn only
// there, so that logs and pipes get the summary alone.
func interactive(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
