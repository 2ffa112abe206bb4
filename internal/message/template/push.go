package template

import "github.com/parcours/parcours/internal/message/provider"

// Push is the mobile push variant. Link is a deep link; Data extra keys.
type Push struct {
	Title string            `json:"title"`
	Body  string            `json:"body"`
	Link  string            `json:"link,omitempty"`
	Data  map[string]string `json:"data,omitempty"`
}

func (p *Push) fields(add func(name, src string, html bool)) {
	add("push.title", p.Title, false)
	add("push.body", p.Body, false)
	add("push.link", p.Link, false)
	for k, v := range p.Data {
		add("push.data."+k, v, false)
	}
}

func (p *Push) problems() []Problem {
	if p.Body == "" {
		return []Problem{{Field: "push.body", Message: "empty"}}
	}
	return nil
}

func (p *Push) render(rd *renderer, m *provider.Message) {
	m.Title = rd.field("push.title", p.Title, false)
	m.Body = rd.field("push.body", p.Body, false)
	if len(p.Data) > 0 || p.Link != "" {
		m.Data = map[string]string{}
		for k, v := range p.Data {
			m.Data[k] = rd.field("push.data."+k, v, false)
		}
		if p.Link != "" {
			m.Data["link"] = rd.field("push.link", p.Link, false)
		}
	}
}

// links tags the deep link; the body is what the lock screen shows.
func (p *Push) links(m *provider.Message, l Links) {
	if href, ok := m.Data["link"]; ok {
		m.Data["link"] = l.Tag(href)
	}
}
