package gen

import (
	"strconv"
	"strings"
	"time"
)

// person is who a customer is: derived again from the seed and the
// customer's number whenever it is needed rather than kept, so that a
// million waiting customers do not each hold a dozen strings.
type person struct {
	first, last     string
	female          bool
	pattern, domain int
	high            uint64 // > 0 once the name combinations are used up
	birth           time.Time
	city            int
	postcode        int
	phone           uint64 // nine digits after the leading 0
	loyalty         uint64 // nine digits of the card number
}

const (
	nameMul  = 1000003 // prime, coprime to every radix used with permute
	nameBase = 120 * 150 * emailPatterns * 10
)

func (g *Generator) person(c *customer) person {
	idx := uint64(c.idx)
	x := permute(idx, nameMul, g.seedKey%nameBase, nameBase)
	var p person
	nf := uint64(len(femaleNames) + len(maleNames))
	if f := x % nf; f < uint64(len(femaleNames)) {
		p.first, p.female = femaleNames[f], true
	} else {
		p.first = maleNames[f-uint64(len(femaleNames))]
	}
	x /= nf
	p.last = lastNames[x%uint64(len(lastNames))]
	x /= uint64(len(lastNames))
	p.pattern, p.domain = int(x%emailPatterns), int(x/emailPatterns)
	p.high = idx / nameBase

	r := newRNG(g.seedKey, idx, 0x9e0)
	pe := &personas[c.persona]
	age := r.between(pe.ageMin, pe.ageMax)
	p.birth = time.Date(g.opts.Start.Year()-age, 1, 1+r.intn(365), 0, 0, 0, 0, time.UTC)
	p.city = r.pick(g.cityCum)
	hc := &homeCities[p.city]
	p.postcode = hc.postcode + r.intn(hc.spread)
	n := permute(idx, nameMul, g.seedKey%2e8, 2e8)
	p.phone = (6+n/1e8)*1e8 + n%1e8
	p.loyalty = permute(idx, nameMul, g.seedKey%1e9, 1e9)
	return p
}

// email is the person's address in its canonical, lower-case form.
func (p *person) email() string {
	var b strings.Builder
	b.WriteString(localPart(p.first))
	switch p.pattern {
	case 0, 4:
		b.WriteByte('.')
	case 2:
		b.WriteByte('_')
	case 3:
		b.WriteByte('-')
	}
	b.WriteString(localPart(p.last))
	if p.pattern == 4 {
		b.WriteByte('.')
		b.WriteString(strconv.Itoa(p.birth.Year() % 100 / 10))
		b.WriteString(strconv.Itoa(p.birth.Year() % 10))
	}
	if p.high > 0 {
		b.WriteString(strconv.FormatUint(p.high, 10))
	}
	b.WriteByte('@')
	b.WriteString(emailDomains[p.domain])
	return b.String()
}

func localPart(name string) string {
	return localReplacer.Replace(strings.ToLower(asciiFold(name)))
}

var localReplacer = strings.NewReplacer(" ", "", "'", "")

// noisyEmail returns the address as a form or a till might have captured it:
// mostly clean, sometimes capitalised, upper-case or padded with spaces, so
// that normalisation has something to do. v picks the variant.
func noisyEmail(e string, v uint64) string {
	switch v % 20 {
	case 0, 1:
		return titleEmail(e)
	case 2:
		return " " + e
	case 3:
		return e + " "
	case 4:
		return strings.ToUpper(e)
	case 5:
		return " " + titleEmail(e) + "  "
	}
	return e
}

func titleEmail(e string) string {
	b := []byte(e)
	up := true
	for i, c := range b {
		if up && 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
		up = c == '.' || c == '@' || c == '_' || c == '-'
	}
	return string(b)
}

// appendPhone writes a French mobile number in one of the formats people
// type: +33612345678, 06 12 34 56 78, 0612345678, 06.12.34.56.78 ...
func appendPhone(b []byte, phone uint64, format uint64) []byte {
	d := appendPadded(nil, phone, 9) // 612345678
	pairs := func(b []byte, sep byte) []byte {
		b = append(b, '0', d[0])
		for i := 1; i < 9; i += 2 {
			if sep != 0 {
				b = append(b, sep)
			}
			b = append(b, d[i], d[i+1])
		}
		return b
	}
	switch format % 8 {
	case 0, 1:
		return append(append(b, "+33"...), d...)
	case 2:
		return pairs(b, ' ')
	case 3:
		return pairs(b, 0)
	case 4:
		return pairs(b, '.')
	case 5:
		b = append(b, "+33 "...)
		b = append(b, d[0])
		for i := 1; i < 9; i += 2 {
			b = append(b, ' ', d[i], d[i+1])
		}
		return b
	case 6:
		return append(append(b, "0033"...), d...)
	}
	return pairs(b, '-')
}

// appendLoyalty writes the loyalty card number: an EAN-13 in the 290 range
// (internal use), with its check digit.
func appendLoyalty(b []byte, n uint64) []byte {
	start := len(b)
	b = append(b, '2', '9', '0')
	b = appendPadded(b, n, 9)
	sum := 0
	for i, c := range b[start:] {
		w := 1
		if i%2 == 1 {
			w = 3
		}
		sum += int(c-'0') * w
	}
	return append(b, byte('0'+(10-sum%10)%10))
}

// appendUserID writes the brand's customer id, "cus_" and eight hex digits
// of a bijection of the customer number, so ids are distinct and unordered.
func (g *Generator) appendUserID(b []byte, idx uint32) []byte {
	h := idx*0x9e3779b1 + uint32(g.seedKey)
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	return appendHex(append(b, "cus_"...), uint64(h), 8)
}

// traits writes the traits of an identify call: the email the customer
// logs in with, the contact details of a guest checkout, or the full
// profile of a sign-up or a loyalty enrolment. Emails and phones come with
// the noise of real forms (case, spaces, formats).
func (g *Generator) traits(w *jw, c *customer, a *action, hi uint64) {
	p := g.person(c)
	set := a.aux & 3
	w.open("traits")
	w.str("email", noisyEmail(p.email(), hi>>20))
	if set == traitsLogin {
		w.close()
		return
	}
	w.str("firstName", p.first)
	w.str("lastName", p.last)
	w.key("phone")
	w.b = append(w.b, '"')
	w.b = appendPhone(w.b, p.phone, hi>>40)
	w.b = append(w.b, '"')
	if set == traitsGuest {
		w.close()
		return
	}
	if p.female {
		w.str("gender", "female")
	} else {
		w.str("gender", "male")
	}
	w.key("birthday")
	w.b = append(w.b, '"')
	w.b = p.birth.AppendFormat(w.b, "2006-01-02")
	w.b = append(w.b, '"')
	city := homeCities[p.city].name
	w.str("city", city)
	w.key("postalCode")
	w.b = append(w.b, '"')
	w.b = appendPadded(w.b, uint64(p.postcode), 5)
	w.b = append(w.b, '"')
	w.open("address")
	w.str("city", city)
	w.key("postalCode")
	w.b = append(w.b, '"')
	w.b = appendPadded(w.b, uint64(p.postcode), 5)
	w.b = append(w.b, '"')
	w.str("country", "FR")
	w.close()
	if a.aux&(1<<5) != 0 {
		g.loyaltyProp(w, c)
		w.str("loyaltyTier", "essentiel")
	}
	w.str("preferredStore", g.stores[c.home].ID)
	w.bool("emailOptIn", a.aux&(1<<2) != 0)
	w.bool("smsOptIn", a.aux&(1<<3) != 0)
	w.bool("pushOptIn", a.aux&(1<<4) != 0)
	w.close()
}
