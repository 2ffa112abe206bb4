package stories_test

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"
)

// sent is one message as a provider received it, whatever the channel.
type sent struct {
	Channel string
	To      string
	// ID is the provider's id for the message (Twilio's SID).
	ID string
	// Subject and Text are an email's; Body an SMS's, a WhatsApp text's
	// or a push notification's; Title a push's.
	Subject, Text, HTML, Body, Title string
	// Headers are an email's; Data a push's.
	Headers mail.Header
	Data    map[string]string
	// Template is a WhatsApp template message's name and parameters.
	Template string
	Params   []string
}

// inbox gathers what every fake provider received, in order.
type inbox struct {
	mu  sync.Mutex
	all []sent
}

func (b *inbox) add(s sent) {
	b.mu.Lock()
	b.all = append(b.all, s)
	b.mu.Unlock()
}

// list returns the messages received on a channel ("" any), to an
// address ("" any).
func (b *inbox) list(channel, to string) []sent {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []sent
	for _, s := range b.all {
		if (channel == "" || s.Channel == channel) && (to == "" || s.To == to) {
			out = append(out, s)
		}
	}
	return out
}

// smtpSink is a real SMTP server (go-smtp) that accepts every message and
// parses it as a mail client would: headers, the multipart/alternative
// text and HTML parts, their transfer encodings.
type smtpSink struct {
	t    *testing.T
	box  *inbox
	srv  *smtp.Server
	addr string
}

func startSMTP(t *testing.T, box *inbox) *smtpSink {
	s := &smtpSink{t: t, box: box}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &smtpSession{sink: s}, nil }))
	s.srv.Domain = "localhost"
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = l.Addr().String()
	go s.srv.Serve(l)
	t.Cleanup(func() { s.srv.Close() })
	return s
}

type smtpSession struct {
	sink *smtpSink
	from string
	to   []string
}

func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error { s.from = from; return nil }
func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error   { s.to = append(s.to, to); return nil }
func (s *smtpSession) Reset()                                      { s.from, s.to = "", nil }
func (s *smtpSession) Logout() error                               { return nil }

func (s *smtpSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := parseEmail(raw)
	if err != nil {
		s.sink.t.Errorf("smtp: unreadable message from %s: %v\n%s", s.from, err, raw)
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: err.Error()}
	}
	if len(s.to) != 1 || !strings.Contains(m.Headers.Get("To"), s.to[0]) {
		s.sink.t.Errorf("smtp: RCPT TO %v but To: %q", s.to, m.Headers.Get("To"))
	}
	m.To = s.to[0]
	s.sink.box.add(m)
	return nil
}

// parseEmail reads a message: the subject decoded, the text and HTML
// parts of a multipart/alternative body decoded from their transfer
// encoding. A message without both parts is an error: Parcours always
// sends both.
func parseEmail(raw []byte) (sent, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return sent{}, err
	}
	out := sent{Channel: "email", Headers: msg.Header}
	if out.Subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return sent{}, fmt.Errorf("subject: %w", err)
	}
	for _, h := range []string{"From", "To", "Message-Id", "Date"} {
		if msg.Header.Get(h) == "" {
			return sent{}, fmt.Errorf("no %s header", h)
		}
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		return sent{}, fmt.Errorf("Content-Type %q, want multipart/alternative (%v)", msg.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return sent{}, err
		}
		body, err := decodePart(p)
		if err != nil {
			return sent{}, err
		}
		switch pt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); pt {
		case "text/plain":
			out.Text = strings.ReplaceAll(body, "\r\n", "\n")
		case "text/html":
			out.HTML = body
		}
	}
	if out.Text == "" || out.HTML == "" {
		return sent{}, fmt.Errorf("want a text and an HTML part; text %q, html %q", out.Text, out.HTML)
	}
	return out, nil
}

func decodePart(p *multipart.Part) (string, error) {
	var r io.Reader = p
	switch strings.ToLower(p.Header.Get("Content-Transfer-Encoding")) {
	case "quoted-printable":
		r = quotedprintable.NewReader(p)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, p)
	}
	b, err := io.ReadAll(r)
	return string(b), err
}

// twilioFake plays Twilio's Messages API and checks each request as
// Twilio documents it: POST /2010-04-01/Accounts/{AccountSid}/Messages.json,
// Basic auth with the account SID and auth token, a form with To (E.164),
// From or MessagingServiceSid, Body and StatusCallback.
type twilioFake struct {
	t              *testing.T
	box            *inbox
	srv            *httptest.Server
	sid, token     string
	from, callback string
	mu             sync.Mutex
	n              int
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

func startTwilio(t *testing.T, box *inbox, sid, token, from, callback string) *twilioFake {
	f := &twilioFake{t: t, box: box, sid: sid, token: token, from: from, callback: callback}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2010-04-01/Accounts/{sid}/Messages.json", f.create)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("twilio: unexpected %s %s", r.Method, r.URL.Path)
		http.Error(w, `{"code":20404,"message":"not found","status":404}`, 404)
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *twilioFake) create(w http.ResponseWriter, r *http.Request) {
	refuse := func(status, code int, msg string) {
		f.t.Errorf("twilio: %s", msg)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"code":%d,"message":%q,"status":%d}`, code, msg, status)
	}
	if user, pass, ok := r.BasicAuth(); !ok || user != f.sid || pass != f.token || r.PathValue("sid") != f.sid {
		refuse(401, 20003, "authentication: Basic auth with the account SID and auth token, the SID in the path")
		return
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/x-www-form-urlencoded" {
		refuse(400, 21000, "Content-Type "+r.Header.Get("Content-Type")+", want application/x-www-form-urlencoded")
		return
	}
	if err := r.ParseForm(); err != nil {
		refuse(400, 21000, err.Error())
		return
	}
	form := r.PostForm
	for k := range form {
		switch k {
		case "To", "From", "MessagingServiceSid", "Body", "StatusCallback":
		default:
			refuse(400, 21000, "unknown parameter "+k)
			return
		}
	}
	switch {
	case !e164.MatchString(form.Get("To")):
		refuse(400, 21211, "The 'To' number "+form.Get("To")+" is not a valid phone number.")
	case form.Get("From") != f.from || form.Has("MessagingServiceSid"):
		refuse(400, 21212, "From "+form.Get("From")+", want "+f.from)
	case strings.TrimSpace(form.Get("Body")) == "":
		refuse(400, 21602, "Message body is required.")
	case form.Get("StatusCallback") != f.callback:
		refuse(400, 21609, "StatusCallback "+form.Get("StatusCallback")+", want "+f.callback)
	default:
		f.mu.Lock()
		f.n++
		sid := fmt.Sprintf("SM%032d", f.n)
		f.mu.Unlock()
		f.box.add(sent{Channel: "sms", To: form.Get("To"), Body: form.Get("Body"), ID: sid})
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{"sid": sid, "account_sid": f.sid, "to": form.Get("To"), "from": f.from,
			"body": form.Get("Body"), "status": "queued", "num_segments": "1"})
	}
}

// whatsappFake plays the WhatsApp Cloud API: POST
// /{version}/{phone-number-id}/messages with the Bearer token and a JSON
// body with messaging_product "whatsapp", recipient_type "individual",
// to (digits, no +) and a text or template message.
type whatsappFake struct {
	t            *testing.T
	box          *inbox
	srv          *httptest.Server
	phoneID, tok string
	mu           sync.Mutex
	n            int
}

func startWhatsApp(t *testing.T, box *inbox, phoneID, token string) *whatsappFake {
	f := &whatsappFake{t: t, box: box, phoneID: phoneID, tok: token}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /{version}/{phone}/messages", f.send)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("whatsapp: unexpected %s %s", r.Method, r.URL.Path)
		http.Error(w, "{}", 404)
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

var waVersion = regexp.MustCompile(`^v[0-9]+\.[0-9]+$`)
var waDigits = regexp.MustCompile(`^[1-9][0-9]{6,14}$`)

func (f *whatsappFake) send(w http.ResponseWriter, r *http.Request) {
	refuse := func(msg string) {
		f.t.Errorf("whatsapp: %s", msg)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(400)
		fmt.Fprintf(w, `{"error":{"message":%q,"type":"OAuthException","code":100,"fbtrace_id":"x"}}`, msg)
	}
	if !waVersion.MatchString(r.PathValue("version")) || r.PathValue("phone") != f.phoneID {
		refuse("path " + r.URL.Path + ": want /vNN.N/" + f.phoneID + "/messages")
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+f.tok {
		refuse("Authorization " + r.Header.Get("Authorization"))
		return
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/json" {
		refuse("Content-Type " + r.Header.Get("Content-Type"))
		return
	}
	var m struct {
		MessagingProduct string `json:"messaging_product"`
		RecipientType    string `json:"recipient_type"`
		To               string `json:"to"`
		Type             string `json:"type"`
		Text             *struct {
			PreviewURL *bool  `json:"preview_url"`
			Body       string `json:"body"`
		} `json:"text"`
		Template *struct {
			Name     string `json:"name"`
			Language struct {
				Code string `json:"code"`
			} `json:"language"`
			Components []struct {
				Type       string `json:"type"`
				Parameters []struct {
					Type string `json:"type"`
					Text string `json:"text"`
				} `json:"parameters"`
			} `json:"components"`
		} `json:"template"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		refuse("body: " + err.Error())
		return
	}
	out := sent{Channel: "whatsapp", To: "+" + m.To}
	switch {
	case m.MessagingProduct != "whatsapp" || m.RecipientType != "individual":
		refuse(fmt.Sprintf("messaging_product %q, recipient_type %q", m.MessagingProduct, m.RecipientType))
		return
	case !waDigits.MatchString(m.To):
		refuse("to " + m.To + ": want the number's digits, no +")
		return
	case m.Type == "text" && m.Text != nil && m.Text.Body != "" && m.Template == nil:
		out.Body = m.Text.Body
	case m.Type == "template" && m.Template != nil && m.Template.Name != "" && m.Template.Language.Code != "" && m.Text == nil:
		out.Template = m.Template.Name
		for _, c := range m.Template.Components {
			for _, p := range c.Parameters {
				if c.Type != "body" || p.Type != "text" {
					refuse("template component " + c.Type + "/" + p.Type)
					return
				}
				out.Params = append(out.Params, p.Text)
			}
		}
	default:
		refuse("type " + m.Type + " without its text or template")
		return
	}
	f.mu.Lock()
	f.n++
	id := fmt.Sprintf("wamid.HBgL%06d", f.n)
	f.mu.Unlock()
	f.box.add(out)
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"messaging_product":"whatsapp","contacts":[{"input":%q,"wa_id":%q}],"messages":[{"id":%q}]}`, m.To, m.To, id)
}

// fcmFake plays Google's OAuth token endpoint and the FCM HTTP v1 API:
// a JWT bearer grant whose RS256 assertion must verify with the service
// account's public key, then POST /v1/projects/{project}/messages:send
// with the access token it issued.
type fcmFake struct {
	t       *testing.T
	box     *inbox
	srv     *httptest.Server
	project string
	key     *rsa.PrivateKey
	mu      sync.Mutex
	tokens  map[string]bool
	n       int
}

// serviceKey is the service account's key, made once: a 2048-bit RSA key
// takes a good part of a second on a small machine.
var serviceKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

func startFCM(t *testing.T, box *inbox, project string) *fcmFake {
	key, err := serviceKey()
	if err != nil {
		t.Fatal(err)
	}
	f := &fcmFake{t: t, box: box, project: project, key: key, tokens: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", f.token)
	mux.HandleFunc("POST /v1/projects/{project}/messages:send", f.send)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("fcm: unexpected %s %s", r.Method, r.URL.Path)
		http.Error(w, "{}", 404)
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// serviceAccount is the key file a brand downloads from the console.
func (f *fcmFake) serviceAccount() string {
	der, _ := x509.MarshalPKCS8PrivateKey(f.key)
	b, _ := json.Marshal(map[string]string{"type": "service_account", "project_id": f.project, "private_key_id": "key-1",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": "parcours@" + f.project + ".iam.gserviceaccount.com", "token_uri": f.srv.URL + "/token"})
	return string(b)
}

func (f *fcmFake) token(w http.ResponseWriter, r *http.Request) {
	refuse := func(msg string) {
		f.t.Errorf("fcm token: %s", msg)
		w.WriteHeader(400)
		io.WriteString(w, `{"error":"invalid_grant"}`)
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		refuse("grant_type " + r.PostForm.Get("grant_type"))
		return
	}
	parts := strings.Split(r.PostForm.Get("assertion"), ".")
	if len(parts) != 3 {
		refuse("assertion is not a JWT")
		return
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err != nil || rsa.VerifyPKCS1v15(&f.key.PublicKey, crypto.SHA256, sum[:], sig) != nil {
		refuse("assertion signature does not verify with the service account's key (RS256)")
		return
	}
	var head, claims map[string]any
	for i, into := range []*map[string]any{&head, &claims} {
		b, _ := base64.RawURLEncoding.DecodeString(parts[i])
		if json.Unmarshal(b, into) != nil {
			refuse("assertion part not JSON")
			return
		}
	}
	if head["alg"] != "RS256" || claims["scope"] != "https://www.googleapis.com/auth/firebase.messaging" ||
		claims["aud"] != f.srv.URL+"/token" || claims["iss"] != "parcours@"+f.project+".iam.gserviceaccount.com" {
		refuse(fmt.Sprintf("header %v claims %v", head, claims))
		return
	}
	f.mu.Lock()
	f.n++
	tok := fmt.Sprintf("ya29.fake-%d", f.n)
	f.tokens[tok] = true
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"access_token":%q,"expires_in":3599,"token_type":"Bearer"}`, tok)
}

func (f *fcmFake) send(w http.ResponseWriter, r *http.Request) {
	refuse := func(status int, msg string) {
		f.t.Errorf("fcm: %s", msg)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"error":{"code":%d,"message":%q,"status":"INVALID_ARGUMENT"}}`, status, msg)
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	f.mu.Lock()
	issued := f.tokens[tok]
	f.mu.Unlock()
	if !ok || !issued {
		refuse(401, "Authorization "+r.Header.Get("Authorization")+": not a token this server issued")
		return
	}
	if r.PathValue("project") != f.project {
		refuse(404, "project "+r.PathValue("project"))
		return
	}
	var body struct {
		Message struct {
			Token        string `json:"token"`
			Notification *struct {
				Title string `json:"title"`
				Body  string `json:"body"`
			} `json:"notification"`
			Data map[string]string `json:"data"`
		} `json:"message"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		refuse(400, "body: "+err.Error())
		return
	}
	m := body.Message
	if m.Token == "" || m.Notification == nil || (m.Notification.Title == "" && m.Notification.Body == "") {
		refuse(400, "a message needs a token and a notification")
		return
	}
	f.box.add(sent{Channel: "push", To: m.Token, Title: m.Notification.Title, Body: m.Notification.Body, Data: m.Data})
	f.mu.Lock()
	f.n++
	name := fmt.Sprintf("projects/%s/messages/0:%d", f.project, f.n)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"name":%q}`, name)
}
