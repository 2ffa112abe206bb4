package cli

import (
	"crypto/rand"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/parcours/parcours/internal/config"
	"github.com/parcours/parcours/internal/store"
)

// conversationsCmd is what agents and store staff do with customer
// service conversations.
type conversationsCmd struct {
	List    conversationsListCmd    `cmd:"" help:"List conversations: a queue (by status, team, store, assignee) or a customer's, or those mentioning a text."`
	Show    conversationsShowCmd    `cmd:"" help:"Show a conversation: its messages on every channel, delivery statuses, SLA, WhatsApp window."`
	Reply   conversationsReplyCmd   `cmd:"" help:"Answer the customer (email, sms, whatsapp, chat) or add a note (phone_note, store_note, note)."`
	Assign  conversationsAssignCmd  `cmd:"" help:"Assign a conversation to someone, or to the next agent in turn (--round-robin)."`
	Resolve conversationsResolveCmd `cmd:"" help:"Resolve a conversation."`
}

type conversationsListCmd struct {
	remote
	Status   string `help:"open, pending, resolved, active (open and pending) or all." default:"active" enum:"open,pending,resolved,active,all"`
	Team     string `help:"The team's queue."`
	Store    string `help:"The store's queue."`
	Assignee string `help:"Whose: an email, me, or - for nobody's."`
	Customer string `help:"The customer: an email, a +number, or kind:value (user_id:42)."`
	Search   string `help:"Only conversations with a message containing this text." short:"q"`
	Tag      string `help:"Only conversations with this tag."`
	Limit    int    `help:"How many at most (1 to 1000)." default:"100"`
	Cursor   string `help:"Where to go on from: the cursor a list longer than --limit printed."`
}

func (c *conversationsListCmd) Help() string {
	return `A queue is the active conversations of a team or a store, oldest first:

  parcours conversations list --team service --assignee -
  parcours conversations list --store lyon-01
  parcours conversations list --customer ana@example.com --status all
  parcours conversations list -q "commande 1042"`
}

func (c *conversationsListCmd) Run(g *config.Globals, e *env) error {
	api, err := c.client(g)
	if err != nil {
		return err
	}
	q := url.Values{"limit": {fmt.Sprint(c.Limit)}}
	for k, v := range map[string]string{"team": c.Team, "store_id": c.Store, "assignee": c.Assignee, "customer": c.Customer,
		"q": c.Search, "tag": c.Tag, "cursor": c.Cursor} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if c.Status != "all" {
		q.Set("status", c.Status)
	}
	var out struct {
		Conversations []*store.Conversation `json:"conversations"`
		NextCursor    string                `json:"next_cursor,omitempty"`
	}
	if err := api.call(e.ctx, "GET", "/api/v1/conversations?"+q.Encode(), nil, &out); err != nil {
		return err
	}
	if g.JSON {
		return printJSON(e.stdout, out)
	}
	printConversations(e.stdout, out.Conversations)
	if out.NextCursor != "" {
		fmt.Fprintf(e.stdout, "More conversations: add --cursor %s\n", out.NextCursor)
	}
	return nil
}

func printConversations(w io.Writer, cs []*store.Conversation) {
	if len(cs) == 0 {
		fmt.Fprintln(w, "No conversations.")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tCUSTOMER\tQUEUE\tASSIGNEE\tPRIORITY\tCHANNEL\tLAST MESSAGE\tSLA")
	for _, c := range cs {
		who := fmt.Sprintf("profile %d", c.ProfileID)
		if c.ProfileID == 0 {
			who = c.Contact
		}
		queue := "team " + c.Team
		if c.StoreID != "" {
			queue = "store " + c.StoreID
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.Status, who, queue, or(c.Assignee, "-"), c.Priority, c.Channel,
			c.LastMessageAt.Format("2006-01-02 15:04"), sla(c))
	}
	tw.Flush()
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// sla says what is due next, or what was breached.
func sla(c *store.Conversation) string {
	var parts []string
	if len(c.Breaches) > 0 {
		parts = append(parts, "breached "+strings.Join(c.Breaches, ","))
	}
	switch {
	case !c.FirstResponseDue.IsZero():
		parts = append(parts, "reply by "+c.FirstResponseDue.Format("01-02 15:04"))
	case !c.ResolutionDue.IsZero():
		parts = append(parts, "resolve by "+c.ResolutionDue.Format("01-02 15:04"))
	}
	return or(strings.Join(parts, "; "), "-")
}

type conversationsShowCmd struct {
	remote
	ID int64 `arg:"" help:"The conversation's id."`
}

// conversationView is GET /api/v1/conversations/{id}.
type conversationView struct {
	store.Conversation
	Messages           []*store.ConversationMessage `json:"messages"`
	WhatsAppWindowEnds time.Time                    `json:"whatsapp_window_ends,omitzero"`
	ReplyTo            string                       `json:"reply_to,omitempty"`
}

func (c *conversationsShowCmd) Run(g *config.Globals, e *env) error {
	api, err := c.client(g)
	if err != nil {
		return err
	}
	var v conversationView
	if err := api.call(e.ctx, "GET", fmt.Sprintf("/api/v1/conversations/%d", c.ID), nil, &v); err != nil {
		return err
	}
	if g.JSON {
		return printJSON(e.stdout, v)
	}
	w := e.stdout
	printConversations(w, []*store.Conversation{&v.Conversation})
	if len(v.Tags) > 0 {
		fmt.Fprintf(w, "Tags: %s\n", strings.Join(v.Tags, ", "))
	}
	if !v.WhatsAppWindowEnds.IsZero() {
		state := "open until"
		if !v.WhatsAppWindowEnds.After(time.Now()) {
			state = "closed at"
		}
		fmt.Fprintf(w, "WhatsApp window: %s %s (after it, only a template: --template)\n", state, v.WhatsAppWindowEnds.Format(time.RFC3339))
	}
	fmt.Fprintln(w)
	for _, m := range v.Messages {
		who := m.Author
		switch m.Direction {
		case store.DirectionInbound:
			who = "customer " + m.Author
		case store.DirectionNote:
			who += " (note)"
			if m.Internal {
				who += " [internal]"
			}
		}
		status := ""
		if m.Status != "" && m.Direction == store.DirectionOutbound {
			status = " · " + m.Status
		}
		fmt.Fprintf(w, "#%d %s · %s · %s%s\n", m.ID, m.CreatedAt.Format("2006-01-02 15:04"), m.Channel, who, status)
		if m.Subject != "" {
			fmt.Fprintf(w, "  Subject: %s\n", m.Subject)
		}
		for _, line := range strings.Split(m.Body, "\n") {
			fmt.Fprintf(w, "  %s\n", line)
		}
	}
	return nil
}

type conversationsReplyCmd struct {
	remote
	ID       int64  `arg:"" help:"The conversation's id."`
	Body     string `arg:"" optional:"" help:"The text (- reads it from standard input)."`
	Channel  string `help:"email, sms, whatsapp, chat; phone_note, store_note, note (internal). Default: the channel the customer last wrote on."`
	Template string `help:"A stored template to send instead of a text: a canned reply, or a WhatsApp template outside the 24-hour window."`
	Subject  string `help:"The subject of an email (default: Re: and the conversation's)."`
	Status   string `help:"The status after an answer: pending (default), open or resolved." enum:",open,pending,resolved" default:""`
	Key      string `help:"Idempotency key (default: a new one): the same key twice sends once."`
}

func (c *conversationsReplyCmd) Help() string {
	return `Answers go through the providers and the message rules of a service message: a STOP or a
suppressed address stops them; opt-outs of marketing, caps and quiet hours do not (the customer
wrote). On WhatsApp, a text may go only within 24 hours of the customer's last WhatsApp message.

  parcours conversations reply 12 "Votre commande part demain."
  parcours conversations reply 12 --channel whatsapp "Elle part demain"
  parcours conversations reply 12 --channel phone_note "Appelée, rappel samedi" --status open
  parcours conversations reply 12 --channel whatsapp --template order_update_wa`
}

func (c *conversationsReplyCmd) Run(g *config.Globals, e *env) error {
	api, err := c.client(g)
	if err != nil {
		return err
	}
	body := c.Body
	if body == "-" {
		b, err := io.ReadAll(io.LimitReader(os.Stdin, 1<<20))
		if err != nil {
			return err
		}
		body = strings.TrimSpace(string(b))
	}
	if body == "" && c.Template == "" {
		return fmt.Errorf("give the text to send (or - to read it from standard input), or --template")
	}
	key := c.Key
	if key == "" {
		key = "cli-" + rand.Text()
	}
	in := map[string]any{"channel": c.Channel, "body": body, "template_id": c.Template, "subject": c.Subject, "status": c.Status, "key": key}
	var out struct {
		Conversation *store.Conversation        `json:"conversation"`
		Message      *store.ConversationMessage `json:"message"`
	}
	if err := api.call(e.ctx, "POST", fmt.Sprintf("/api/v1/conversations/%d/messages", c.ID), in, &out); err != nil {
		return err
	}
	if g.JSON {
		return printJSON(e.stdout, out)
	}
	fmt.Fprintf(e.stdout, "message %d on %s: %s; conversation %d is %s\n", out.Message.ID, out.Message.Channel, or(out.Message.Status, "noted"),
		out.Conversation.ID, out.Conversation.Status)
	return nil
}

type conversationsAssignCmd struct {
	remote
	ID         int64  `arg:"" help:"The conversation's id."`
	Assignee   string `arg:"" optional:"" help:"Who: their email, or me. Empty with --round-robin."`
	RoundRobin bool   `help:"The next agent of the conversation's queue in turn (agents for a team; the store's staff for a store)."`
}

func (c *conversationsAssignCmd) Run(g *config.Globals, e *env) error {
	api, err := c.client(g)
	if err != nil {
		return err
	}
	if (c.Assignee == "") == !c.RoundRobin {
		return fmt.Errorf("give an assignee or --round-robin (one of them)")
	}
	var out store.Conversation
	if err := api.call(e.ctx, "POST", fmt.Sprintf("/api/v1/conversations/%d/assign", c.ID),
		map[string]any{"assignee": c.Assignee, "round_robin": c.RoundRobin}, &out); err != nil {
		return err
	}
	if g.JSON {
		return printJSON(e.stdout, out)
	}
	fmt.Fprintf(e.stdout, "conversation %d is assigned to %s\n", out.ID, or(out.Assignee, "nobody"))
	return nil
}

type conversationsResolveCmd struct {
	remote
	ID int64 `arg:"" help:"The conversation's id."`
}

func (c *conversationsResolveCmd) Run(g *config.Globals, e *env) error {
	api, err := c.client(g)
	if err != nil {
		return err
	}
	var out store.Conversation
	if err := api.call(e.ctx, "POST", fmt.Sprintf("/api/v1/conversations/%d/resolve", c.ID), nil, &out); err != nil {
		return err
	}
	if g.JSON {
		return printJSON(e.stdout, out)
	}
	fmt.Fprintf(e.stdout, "conversation %d is %s\n", out.ID, out.Status)
	return nil
}
