package openapi_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/oapi-codegen/oapi-codegen/v2/pkg/codegen"
	// The generated client's run-time library: required here so that the
	// module (and CI's module cache) holds it for the build below.
	_ "github.com/oapi-codegen/runtime"

	"github.com/parcours/parcours/internal/openapi"
)

// TestGeneratedClientCompiles: a Go client generated from the contract by
// oapi-codegen (types and client, as docs/api.md shows) compiles. The
// code is written to a directory inside this module (its name starts
// with "_", so that ./... never sees it), built with the go command, and
// removed.
func TestGeneratedClientCompiles(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a 20,000-line client")
	}
	doc, err := openapi3.NewLoader().LoadFromData(openapi.Spec)
	if err != nil {
		t.Fatal(err)
	}
	code, err := codegen.Generate(doc, codegen.Configuration{
		PackageName: "parcours",
		Generate:    codegen.GenerateOptions{Models: true, Client: true},
	})
	if err != nil {
		t.Fatalf("oapi-codegen refuses the contract: %v", err)
	}
	dir, err := os.MkdirTemp(".", "_client")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.WriteFile(filepath.Join(dir, "client.go"), []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	cmd := exec.Command(gobin, "build", "-o", os.DevNull, "./"+filepath.Base(dir))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the generated client does not compile: %v\n%s", err, out)
	}
	t.Logf("generated and compiled a client of %d bytes", len(code))
}
