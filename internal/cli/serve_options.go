package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/alecthomas/kong"

	"github.com/parcours/parcours/internal/config"
	"github.com/parcours/parcours/internal/server"
	"github.com/parcours/parcours/internal/store"
)

// ServeOptions returns the options `parcours serve ARGS` starts its server
// with — args are serve's flags and the global ones (--data-dir,
// --stores-file, --providers, --templates, --public-url, ...) — over st,
// the store of that data directory: the identity rules, the physical
// stores of the stores file and of the data, the message flags, the
// providers file loaded and its providers built (close them with the
// returned function). It is serve's own assembly, for tests that run it in
// process on their own clock (internal/stories); serve adds the data
// directory's lock, the admin key and the listener.
func ServeOptions(ctx context.Context, args []string, st store.Store, log *slog.Logger) (server.Options, func(), error) {
	var cli root
	parser, err := kong.New(&cli, kong.Name("parcours"), kong.Writers(io.Discard, io.Discard),
		kong.Exit(func(int) {}), kong.Configuration(config.FileLoader), helpVars())
	if err != nil {
		return server.Options{}, func() {}, err
	}
	if _, err := parser.Parse(append([]string{"serve"}, args...)); err != nil {
		return server.Options{}, func() {}, fmt.Errorf("serve %v: %w", args, err)
	}
	e := &env{ctx: ctx, stdout: io.Discard, stderr: io.Discard, log: log}
	return cli.Serve.options(e, &cli.Globals, st)
}
