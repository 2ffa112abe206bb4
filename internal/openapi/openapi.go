// Package openapi holds the OpenAPI 3.1 contract of the management API
// (openapi.json, written by hand once and checked by tests against the
// route table and the running server: internal/server/openapi_test.go).
// Serve answers it at GET /api/v1/openapi.json.
package openapi

import (
	_ "embed"
	"net/http"
)

// Spec is the contract, as served.
//
//go:embed openapi.json
var Spec []byte

// Serve answers the contract.
func Serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(Spec)
}
