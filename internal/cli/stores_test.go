package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestProfilesGetNearestStoreFromTheData: profiles get shows the
// nearest_store computed from the stores imported into the data
// (parcours locations import), with no --stores-file to repeat.
func TestProfilesGetNearestStoreFromTheData(t *testing.T) {
	data, dir := t.TempDir(), t.TempDir()
	stores := filepath.Join(dir, "stores.csv")
	os.WriteFile(stores, []byte("id,name,kind,city,country,lat,lon,time_zone\n"+
		"store-paris-01,Parcours Paris Le Marais,store,Paris,FR,48.8606,2.3622,Europe/Paris\n"+
		"store-lyon-01,Parcours Lyon Presqu'île,store,Lyon,FR,45.7597,4.8320,Europe/Paris\n"+
		"entrepot,Entrepôt,warehouse,Lyon,FR,45.7600,4.8330,Europe/Paris\n"), 0o600)
	events := filepath.Join(dir, "events.ndjson")
	os.WriteFile(events, []byte(`{"type":"track","userId":"ana","event":"Product Viewed","messageId":"m1","timestamp":"2026-01-05T09:00:00Z",`+
		`"context":{"location":{"latitude":45.7640,"longitude":4.8357}}}`+"\n"), 0o600)
	for _, args := range [][]string{
		{"sources", "create", "--name", "App", "--channel", "ios"},
		{"locations", "import", stores},
		{"import", events, "--source", "App"},
		{"replay"},
	} {
		if code, out, errOut := run(t, append([]string{"--data-dir", data}, args...)...); code != 0 || strings.Contains(out, "rejected: 1") {
			t.Fatalf("%v: exit %d\n%s\n%s", args, code, out, errOut)
		}
	}
	code, out, errOut := run(t, "--data-dir", data, "--json", "profiles", "get", "user_id:ana")
	var got struct {
		Computed struct {
			Nearest *struct {
				ID         string  `json:"id"`
				DistanceKm float64 `json:"distance_km"`
			} `json:"nearest_store"`
		} `json:"computed"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &got) != nil {
		t.Fatalf("profiles get: exit %d\n%s\n%s", code, out, errOut)
	}
	if got.Computed.Nearest == nil || got.Computed.Nearest.ID != "store-lyon-01" {
		t.Fatalf("nearest_store = %+v, want store-lyon-01 (the warehouse is no store)\n%s", got.Computed.Nearest, out)
	}
}
