package template

import (
	"html"
	"net/url"
	"regexp"
	"strings"
)

var (
	hrefAttr  = regexp.MustCompile(`(?i)(<a\b[^>]*?\bhref\s*=\s*)("([^"]*)"|'([^']*)')`)
	blockTags = regexp.MustCompile(`(?i)<\s*(br|/p|/div|/h[1-6]|/li|/tr|/table|hr)\b[^>]*>`)
	liTag     = regexp.MustCompile(`(?i)<\s*li\b[^>]*>`)
	anchor    = regexp.MustCompile(`(?is)<a\b[^>]*?\bhref\s*=\s*["']([^"']*)["'][^>]*>(.*?)</a\s*>`)
	dropped   = regexp.MustCompile(`(?is)<(script|style|head)\b.*?</(script|style|head)\s*>`)
	anyTag    = regexp.MustCompile(`(?s)<[^>]*>`)
	blanks    = regexp.MustCompile(`[ \t]+`)
	manyLines = regexp.MustCompile(`\n{3,}`)
	urlInText = regexp.MustCompile(`https?://[^\s<>"']+`)
)

// TextFromHTML derives the plain-text part of an email from its HTML:
// blocks become lines, links "text (url)", markup and scripts go, entities
// are decoded.
func TextFromHTML(h string) string {
	s := dropped.ReplaceAllString(h, "")
	s = anchor.ReplaceAllStringFunc(s, func(a string) string {
		m := anchor.FindStringSubmatch(a)
		text := strings.TrimSpace(anyTag.ReplaceAllString(m[2], ""))
		href := html.UnescapeString(m[1])
		if text == "" || text == href || strings.HasPrefix(href, "mailto:") {
			return text + " " + href
		}
		return text + " (" + href + ")"
	})
	s = liTag.ReplaceAllString(s, "\n- ")
	s = blockTags.ReplaceAllString(s, "\n")
	s = anyTag.ReplaceAllString(s, "")
	s = html.UnescapeString(s)
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(blanks.ReplaceAllString(l, " "))
	}
	s = strings.Join(lines, "\n")
	return strings.TrimSpace(manyLines.ReplaceAllString(s, "\n\n"))
}

// RewriteLinks replaces the href of every <a> in h by fn(href); fn gets
// the decoded URL and returns the URL to put instead (escaped here).
func RewriteLinks(h string, fn func(href string) string) string {
	return hrefAttr.ReplaceAllStringFunc(h, func(a string) string {
		m := hrefAttr.FindStringSubmatch(a)
		raw := m[3]
		if m[4] != "" {
			raw = m[4]
		}
		return m[1] + `"` + html.EscapeString(fn(html.UnescapeString(raw))) + `"`
	})
}

// RewriteTextLinks replaces every http(s) URL of a plain text by fn(url).
func RewriteTextLinks(s string, fn func(string) string) string {
	return urlInText.ReplaceAllStringFunc(s, func(u string) string {
		// Sentence punctuation right after a URL is not part of it.
		trail := ""
		for len(u) > 0 && strings.ContainsRune(".,;:!?)", rune(u[len(u)-1])) {
			trail = u[len(u)-1:] + trail
			u = u[:len(u)-1]
		}
		return fn(u) + trail
	})
}

// Trackable reports whether a link is one to track and tag: http(s), not
// an unsubscribe or preference link of ours.
func Trackable(href string) bool {
	u, err := url.Parse(href)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// AddUTM adds utm_source, utm_medium and utm_campaign to an http(s) link,
// keeping the ones it already has.
func AddUTM(href, source, medium, campaign string) string {
	u, err := url.Parse(href)
	if err != nil || !Trackable(href) {
		return href
	}
	q := u.Query()
	set := func(k, v string) {
		if v != "" && q.Get(k) == "" {
			q.Set(k, v)
		}
	}
	set("utm_source", source)
	set("utm_medium", medium)
	set("utm_campaign", campaign)
	u.RawQuery = q.Encode()
	return u.String()
}
