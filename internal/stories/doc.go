// Package stories plays the seeds' stories live: its tests run the real
// `parcours serve` wiring (every stage, the embedded store, the providers
// file) on a fake clock, with an SMTP server and local servers that check
// the Twilio, WhatsApp Cloud and FCM wire formats, and drive it as a brand
// would — the tracking API with a write key, the management API with the
// admin key, `parcours apply` and `parcours import`, the providers'
// callbacks. They assert what the customer receives: the rendered text,
// how many messages, and that none is sent twice. docs/stories.md says
// what each story proves.
package stories
