package cli

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/parcours/parcours/internal/config"
)

// interactive reports whether w is a terminal: progress bars are drawn only
// there, so that logs and pipes get the summary alone.
func interactive(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// newBar returns a progress bar on stderr, drawn only on a terminal and
// never with --json.
func newBar(e *env, g *config.Globals, total int64, what, unit string) *progressbar.ProgressBar {
	return progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(e.stderr),
		progressbar.OptionSetDescription(what),
		progressbar.OptionSetItsString(unit),
		progressbar.OptionShowIts(),
		progressbar.OptionShowCount(),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetVisibility(!g.JSON && interactive(e.stderr)),
	)
}

// importProgress draws a file import: the share of the file read, and the
// records committed per second. Not bytes per second: the reader takes
// the file a megabyte at a time, far ahead of the commits, and a bytes
// rate read "(73 GB/s)" while the first batch was still being written.
type importProgress struct {
	bar   *progressbar.ProgressBar
	what  string // lines, records
	start time.Time
	now   func() time.Time
}

// newImportProgress returns the progress of importing size bytes (-1:
// unknown) of what, drawn on stderr only on a terminal and never with
// --json.
func newImportProgress(e *env, g *config.Globals, size int64, desc, what string) *importProgress {
	return newImportProgressTo(e.stderr, !g.JSON && interactive(e.stderr), size, desc, what, time.Now, 100*time.Millisecond)
}

func newImportProgressTo(w io.Writer, visible bool, size int64, desc, what string, now func() time.Time, throttle time.Duration) *importProgress {
	bar := progressbar.NewOptions64(size,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionThrottle(throttle),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetVisibility(visible),
	)
	return &importProgress{bar: bar, what: what, start: now(), now: now}
}

// reader counts the bytes read from r into the bar.
func (p *importProgress) reader(r io.Reader) io.Reader {
	pr := progressbar.NewReader(r, p.bar)
	return &pr
}

// committed shows how many records are committed, and their rate.
func (p *importProgress) committed(desc string, n int) {
	s := p.now().Sub(p.start).Seconds()
	rate := ""
	if s >= 0.5 { // a rate over less is noise
		rate = fmt.Sprintf(", %.0f %s/s", float64(n)/s, p.what)
	}
	p.bar.Describe(fmt.Sprintf("%s (%d %s%s)", desc, n, p.what, rate))
}

// finish clears the bar.
func (p *importProgress) finish() { p.bar.Finish() }
