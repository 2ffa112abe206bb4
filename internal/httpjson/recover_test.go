package httpjson

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRecoverAnswers500(t *testing.T) {
	var logs strings.Builder
	h := Recover(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic("boom")
	}), slog.New(slog.NewTextHandler(&logs, nil)))
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/api/v1/templates", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatalf("the connection was dropped: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(string(b), `"code":"internal"`) ||
		!strings.Contains(string(b), "POST /api/v1/templates") {
		t.Errorf("got %d %s", resp.StatusCode, b)
	}
	if !strings.Contains(logs.String(), "boom") || !strings.Contains(logs.String(), "recover_test.go") {
		t.Errorf("the panic and its stack were not logged: %s", logs.String())
	}
}
