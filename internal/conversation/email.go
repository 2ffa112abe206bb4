package conversation

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"regexp"
	"strconv"
	"strings"

	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/store"
)

// ReplyAddress is the reply-to address of conversation id's emails:
// reply+ID.SIG@ReplyDomain, signed so that nobody can write into another
// conversation by guessing its number. "" without a domain or secret.
func (s *Service) ReplyAddress(id int64) string {
	if s.o.ReplyDomain == "" || len(s.o.Secret) == 0 {
		return ""
	}
	return "reply+" + strconv.FormatInt(id, 10) + "." + s.sign("reply:"+strconv.FormatInt(id, 10), 10) + "@" + s.o.ReplyDomain
}

// sign is the first n bytes of the HMAC of what, in lowercase hex (mail
// servers may change the case of a local part).
func (s *Service) sign(what string, n int) string {
	h := hmac.New(sha256.New, s.o.Secret)
	h.Write([]byte(what))
	return hex.EncodeToString(h.Sum(nil)[:n])
}

var replyAddr = regexp.MustCompile(`(?i)^<?reply\+([0-9]+)\.([0-9a-f]+)@`)

// replyConversation is the conversation a recipient address names, 0 when
// it names none or its signature does not hold.
func (s *Service) replyConversation(rcpt string) int64 {
	m := replyAddr.FindStringSubmatch(strings.TrimSpace(rcpt))
	if m == nil || len(s.o.Secret) == 0 {
		return 0
	}
	id, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || !hmac.Equal([]byte(strings.ToLower(m[2])), []byte(s.sign("reply:"+m[1], 10))) {
		return 0
	}
	return id
}

// ReceiveEmail takes an email a customer sent (the inbound SMTP server's
// OnMail): it lands in the conversation its reply-to address names, else
// the one whose email it answers (In-Reply-To, References), else the
// sender's active conversation. Mail that cannot be read is dropped
// (logged), not refused: refusing would bounce it back to the customer.
func (s *Service) ReceiveEmail(ctx context.Context, rcpts []string, raw []byte) error {
	e, err := ParseEmail(raw)
	if err != nil {
		s.log.Info("conversations: inbound email dropped", "reason", err)
		return nil
	}
	in := Incoming{Channel: Email, From: e.From, Subject: e.Subject, Body: e.Text, Thread: e.MessageID}
	for _, r := range rcpts {
		if id := s.replyConversation(r); id > 0 {
			in.Conversation = id
			break
		}
	}
	if in.Conversation == 0 {
		for _, ref := range e.References {
			for _, t := range []string{ref, localPart(ref)} {
				if m, err := s.st.ConversationMessageByThread(ctx, t); err == nil {
					in.Conversation = m.ConversationID
					break
				} else if !errors.Is(err, store.ErrNotFound) {
					return err
				}
			}
			if in.Conversation > 0 {
				break
			}
		}
	}
	if in.Conversation > 0 {
		if c, err := s.st.Conversation(ctx, in.Conversation); err == nil {
			in.ProfileID, in.Contact = c.ProfileID, c.Contact
		}
	}
	if in.ProfileID == 0 && in.Contact == "" {
		holders, err := s.st.Holders(ctx, []identity.Identifier{{Kind: identity.Email, Value: strings.ToLower(e.From)}})
		if err != nil {
			return err
		}
		for _, h := range holders {
			if in.ProfileID == 0 || h < in.ProfileID {
				in.ProfileID = h
			}
		}
		if in.ProfileID == 0 {
			in.Contact = strings.ToLower(e.From)
		}
	}
	id := e.MessageID
	if id == "" {
		sum := sha256.Sum256(raw)
		id = hex.EncodeToString(sum[:16])
	}
	sum := sha256.Sum256([]byte("email|" + id))
	in.Key, in.ProviderID = "in:email:"+hex.EncodeToString(sum[:16]), id
	_, _, err = s.Receive(ctx, in)
	return err
}

func localPart(id string) string {
	if i := strings.IndexByte(id, '@'); i > 0 {
		return id[:i]
	}
	return id
}

// InboundEmail is what a customer's email says, as conversations keep it.
type InboundEmail struct {
	From      string
	Subject   string
	MessageID string
	// References are the Message-IDs it answers, In-Reply-To first.
	References []string
	// Text is the new text: the plain part, without the quoted message.
	Text string
}

// maxParts bounds the parts of a multipart email read.
const maxParts = 50

// ParseEmail reads an RFC 5322 message: its sender, subject, ids and
// plain text (from text/plain, or text/html stripped, in a multipart
// message), without the quote of the message it answers.
func ParseEmail(raw []byte) (*InboundEmail, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("email: %w", err)
	}
	from, err := mail.ParseAddress(msg.Header.Get("From"))
	if err != nil {
		return nil, fmt.Errorf("email: From: %w", err)
	}
	dec := new(mime.WordDecoder)
	subject, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		subject = msg.Header.Get("Subject")
	}
	e := &InboundEmail{From: from.Address, Subject: strings.TrimSpace(subject)}
	if ids := msgIDs(msg.Header.Get("Message-Id")); len(ids) > 0 {
		e.MessageID = ids[0]
	}
	e.References = append(msgIDs(msg.Header.Get("In-Reply-To")), reverse(msgIDs(msg.Header.Get("References")))...)
	text, err := bodyText(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body, 0)
	if err != nil {
		return nil, fmt.Errorf("email: body: %w", err)
	}
	e.Text = stripQuote(text)
	return e, nil
}

var msgID = regexp.MustCompile(`<([^<>\s]+)>`)

// msgIDs are the ids of a Message-ID, In-Reply-To or References header.
func msgIDs(h string) []string {
	var out []string
	for _, m := range msgID.FindAllStringSubmatch(h, 20) {
		out = append(out, m[1])
	}
	return out
}

func reverse(l []string) []string {
	for i, j := 0, len(l)-1; i < j; i, j = i+1, j-1 {
		l[i], l[j] = l[j], l[i]
	}
	return l
}

// bodyText is the text of a body of the given type: the first text/plain
// part, else the first text/html part stripped of its tags.
func bodyText(ctype, encoding string, body io.Reader, depth int) (string, error) {
	mt, params, err := mime.ParseMediaType(ctype)
	if ctype == "" || err != nil {
		mt = "text/plain"
	}
	body = decodeTransfer(encoding, body)
	switch {
	case strings.HasPrefix(mt, "multipart/") && depth < 5:
		mr := multipart.NewReader(body, params["boundary"])
		var html string
		for range maxParts {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				return "", err
			}
			t, err := bodyText(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, depth+1)
			if err != nil {
				return "", err
			}
			pt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
			if t != "" && (pt == "text/plain" || pt == "" || strings.HasPrefix(pt, "multipart/")) {
				return t, nil
			}
			if html == "" && pt == "text/html" {
				html = t
			}
		}
		return html, nil
	case mt == "text/plain":
		b, err := io.ReadAll(io.LimitReader(body, MaxBody))
		return string(b), err
	case mt == "text/html":
		b, err := io.ReadAll(io.LimitReader(body, 4*MaxBody))
		return htmlText(string(b)), err
	}
	return "", nil
}

// decodeTransfer undoes base64 (quoted-printable is undone by the
// multipart reader, and here for a single part).
func decodeTransfer(encoding string, r io.Reader) io.Reader {
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "base64":
		return newBase64Reader(r)
	case "quoted-printable":
		return newQPReader(r)
	}
	return r
}

var (
	tags   = regexp.MustCompile(`(?s)<(script|style)[^>]*>.*?</(script|style)>|<[^>]*>`)
	breaks = regexp.MustCompile(`(?i)<br\s*/?>|</p>|</div>`)
)

func htmlText(h string) string {
	h = breaks.ReplaceAllString(h, "\n")
	h = tags.ReplaceAllString(h, "")
	for _, r := range [][2]string{{"&nbsp;", " "}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", `"`}, {"&#39;", "'"}, {"&amp;", "&"}} {
		h = strings.ReplaceAll(h, r[0], r[1])
	}
	return h
}

// quoteStart matches the line that introduces the quoted message in the
// common mail clients (English and French).
var quoteStart = regexp.MustCompile(`(?i)^(on .+ wrote:|le .+ a écrit\s?:|-+ ?original message ?-+|-+ ?message d'origine ?-+|from: .+)$`)

// stripQuote keeps what the customer wrote above the message they answer.
func stripQuote(text string) string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	var out []string
	for _, line := range strings.Split(text, "\n") {
		t := strings.TrimSpace(line)
		if quoteStart.MatchString(t) {
			break
		}
		if strings.HasPrefix(t, ">") {
			continue
		}
		out = append(out, strings.TrimRight(line, " \t"))
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}
