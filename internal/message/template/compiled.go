package template

import (
	"sync"

	"github.com/osteele/liquid"
)

// A broadcast renders the same template for every recipient: each field's
// Liquid is compiled once and the compiled form rendered many times (a
// compiled template is read-only while it renders, so renderings share
// it). Fields are keyed by their source, so a new version of a template
// (another source) compiles anew and an old one simply stops being asked
// for.

// maxCompiled bounds the cache; when full it starts again empty, which
// costs one compilation per field in use.
const maxCompiled = 4096

type compiledKey struct {
	html bool
	src  string
}

var compiledCache struct {
	sync.RWMutex
	m map[compiledKey]*liquid.Template
}

// compiled returns src compiled, from the cache when it was compiled
// before. Sources that do not compile are not kept: their error is
// reported again each time.
func compiled(html bool, src string) (*liquid.Template, liquid.SourceError) {
	k := compiledKey{html, src}
	compiledCache.RLock()
	tpl := compiledCache.m[k]
	compiledCache.RUnlock()
	if tpl != nil {
		return tpl, nil
	}
	tpl, err := parse(html, src)
	if err != nil {
		return nil, err
	}
	compiledCache.Lock()
	if compiledCache.m == nil || len(compiledCache.m) >= maxCompiled {
		compiledCache.m = make(map[compiledKey]*liquid.Template)
	}
	compiledCache.m[k] = tpl
	compiledCache.Unlock()
	return tpl, nil
}
