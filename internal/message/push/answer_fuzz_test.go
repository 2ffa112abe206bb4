package push_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/message/messagetest"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/push"
)

func pemOf(f *testing.F, key any) string {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		f.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// FuzzSendAnswers: whatever FCM or APNs answers a send, it is read without
// panic into an accepted send with the provider's id or a classified error
// (messagetest.CheckAnswer).
func FuzzSendAnswers(f *testing.F) {
	// https://firebase.google.com/docs/reference/fcm/rest/v1/projects.messages/send
	// https://firebase.google.com/docs/reference/fcm/rest/v1/ErrorCode
	for _, a := range []messagetest.Answer{
		{Status: 200, Body: []byte(`{"name":"projects/parcours-demo/messages/0:1500415314455276%31bd1c9631bd1c96"}`)},
		{Status: 404, Body: []byte(`{"error":{"code":404,"message":"Requested entity was not found.","status":"NOT_FOUND","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"UNREGISTERED"}]}}`)},
		{Status: 400, Body: []byte(`{"error":{"code":400,"message":"The registration token is not a valid FCM registration token","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"INVALID_ARGUMENT"},{"@type":"type.googleapis.com/google.rpc.BadRequest","fieldViolations":[{"field":"message.token","description":"Invalid registration token"}]}]}}`)},
		{Status: 429, RetryAfter: "30", Body: []byte(`{"error":{"code":429,"status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"QUOTA_EXCEEDED"}]}}`)},
		{Status: 503, Body: []byte(`{"error":{"code":503,"status":"UNAVAILABLE","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"UNREGISTERED"}]}}`)},
		{Status: 401, Body: []byte(`{"error":{"code":401,"status":"UNAUTHENTICATED"}}`)},
		{Status: 200, Body: []byte(`{"name":""}`)},
	} {
		f.Add(uint8(0), a.Status, a.RetryAfter, a.Body)
	}
	// https://developer.apple.com/documentation/usernotifications/handling-notification-responses-from-apns
	for _, a := range []messagetest.Answer{
		{Status: 200},
		{Status: 400, Body: []byte(`{"reason":"BadDeviceToken"}`)},
		{Status: 410, Body: []byte(`{"reason":"Unregistered","timestamp":1795442400000}`)},
		{Status: 403, Body: []byte(`{"reason":"ExpiredProviderToken"}`)},
		{Status: 403, Body: []byte(`{"reason":"InvalidProviderToken"}`)},
		{Status: 429, Body: []byte(`{"reason":"TooManyRequests"}`)},
		{Status: 503, Body: []byte(`{"reason":"Unregistered"}`)},
		{Status: 500, Body: []byte(`{"reason":"InvalidProviderToken"}`)},
	} {
		f.Add(uint8(1), a.Status, a.RetryAfter, a.Body)
	}
	clk := clock.NewFake(t0)

	// FCM: Google's token endpoint always grants; the API answers.
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"access_token":"ya29.t","expires_in":3599,"token_type":"Bearer"}`))
	}))
	defer tokens.Close()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		f.Fatal(err)
	}
	keyFile, _ := json.Marshal(map[string]string{"type": "service_account", "project_id": "parcours-demo", "private_key_id": "key-1",
		"private_key": pemOf(f, rsaKey), "client_email": "fcm@parcours-demo.iam.gserviceaccount.com", "token_uri": tokens.URL + "/token"})
	sa, err := push.ParseServiceAccount(keyFile)
	if err != nil {
		f.Fatal(err)
	}
	fcmAPI := messagetest.NewAnswerServer(false)
	defer fcmAPI.Close()
	fcm, err := push.NewFCM(push.FCMConfig{Name: "fcm", ServiceAccount: sa, BaseURL: fcmAPI.URL, Clock: clk})
	if err != nil {
		f.Fatal(err)
	}
	defer fcm.Close()

	// APNs over HTTP/2.
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	apnsAPI := messagetest.NewAnswerServer(true)
	defer apnsAPI.Close()
	pool := x509.NewCertPool()
	pool.AddCert(apnsAPI.Certificate())
	apns, err := push.NewAPNs(push.APNsConfig{Name: "apns", TeamID: "DEF123GHIJ", KeyID: "ABC123DEFG", PrivateKey: provider.Secret(pemOf(f, ecKey)),
		Topic: "com.parcours.shop", BaseURL: apnsAPI.URL, Expiration: time.Hour, RootCAs: pool, Clock: clk})
	if err != nil {
		f.Fatal(err)
	}
	defer apns.Close()

	m := &provider.Message{Key: "journey:1:step:2", To: deviceToken, Title: "Parcours", Body: "Votre panier vous attend"}
	f.Fuzz(func(t *testing.T, which uint8, status int, retryAfter string, body []byte) {
		p, srv := provider.Provider(fcm), fcmAPI
		if which%2 == 1 {
			p, srv = apns, apnsAPI
		}
		a := srv.Set(messagetest.Answer{Status: status, RetryAfter: retryAfter, Body: body})
		res, err := p.Send(context.Background(), m)
		messagetest.CheckAnswer(t, p.Name(), a, res, err)
	})
}
