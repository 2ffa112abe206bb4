package sms

// gsm7 holds the GSM 03.38 default alphabet and its extension table (the
// extension characters cost two septets but stay GSM-7).
var gsm7 = func() map[rune]bool {
	const basic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
		"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	const ext = "\f^{}\\[~]|€"
	m := make(map[rune]bool, len(basic)+len(ext))
	for _, r := range basic + ext {
		m[r] = true
	}
	return m
}()

// IsGSM7 reports whether text can be sent in the GSM-7 alphabet; if not,
// it must go as UCS-2 ("unicode"), with 70 characters per segment
// instead of 160.
func IsGSM7(text string) bool {
	for _, r := range text {
		if !gsm7[r] {
			return false
		}
	}
	return true
}
