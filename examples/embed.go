// Package examples holds the brand ready to run (README.md) inside the
// binary too: `parcours serve --demo` loads it without a checkout.
package examples

import "embed"

// FS is the examples: commerce CSVs, templates, segments, journeys,
// surveys, the loyalty programme and measure reports.
//
//go:embed commerce journeys loyalty measure segments surveys templates
var FS embed.FS
