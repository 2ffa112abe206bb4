package template

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// MaxLoop bounds the iterations of a (a..b) loop, and MaxNestedRanges how
// many such loops nest: the engine has no time limit, and a template
// looping a billion times without output would hold a worker.
const (
	MaxLoop         = 1000
	MaxNestedRanges = 2
)

var (
	rangeLoop = regexp.MustCompile(`\(\s*(\S+?)\s*\.\.\s*(\S+?)\s*\)`)
	loopLimit = regexp.MustCompile(`\blimit\s*:\s*(\d+)`)
)

// loop checks the bounds of a range loop.
func (w *walker) loop(source, args string, depth int) {
	var p Problem
	if at := strings.Index(w.src[w.off:], source); at >= 0 {
		abs := w.off + at
		p.Line = strings.Count(w.src[:abs], "\n") + 1
		p.Column = len([]rune(w.src[strings.LastIndexByte(w.src[:abs], '\n')+1:abs])) + 1
	}
	m := rangeLoop.FindStringSubmatch(args)
	from, err1 := strconv.Atoi(m[1])
	to, err2 := strconv.Atoi(m[2])
	limit := -1
	if l := loopLimit.FindStringSubmatch(args); l != nil {
		limit, _ = strconv.Atoi(l[1])
	}
	switch {
	case depth > MaxNestedRanges:
		p.Message = fmt.Sprintf("more than %d nested range loops", MaxNestedRanges)
	case limit >= 0 && limit <= MaxLoop:
		return
	case err1 != nil || err2 != nil:
		p.Message = fmt.Sprintf("a range with variable bounds needs limit: N (at most %d)", MaxLoop)
	case to-from+1 > MaxLoop:
		p.Message = fmt.Sprintf("a range of %d iterations, more than %d", to-from+1, MaxLoop)
	default:
		return
	}
	w.probs = append(w.probs, p)
}
