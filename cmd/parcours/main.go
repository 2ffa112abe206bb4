// Command parcours is the Parcours binary. Everything happens in
// internal/cli; run `parcours --help` for the commands.
package main

import (
	"os"

	"github.com/parcours/parcours/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
