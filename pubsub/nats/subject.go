package nats

import (
	"fmt"
	"strings"
)

// SubjectPrefix is the first token of every subject the driver uses: topic
// T travels on "df." + EscapeTopic(T).
const SubjectPrefix = "df."

// emptyToken stands for the empty topic (a NATS token cannot be empty). It
// is never produced for a non-empty topic, since a lone '%' is always
// escaped.
const emptyToken = "%"

// needsEscape reports whether b cannot appear literally in a subject token:
// the token separator '.', the wildcards '*' and '>', the escape character
// '%' itself, and ASCII whitespace and control characters (NATS forbids
// whitespace in subjects).
func needsEscape(b byte) bool {
	return b == '.' || b == '*' || b == '>' || b == '%' || b <= ' ' || b == 0x7f
}

// EscapeTopic returns the single subject token that carries topic: every
// byte needsEscape lists becomes "%XX" (upper-case hex), everything else
// (including UTF-8) is kept; the empty topic becomes "%". The mapping is
// injective and UnescapeTopic reverses it, so topics keep exact-match
// semantics: "a.b" and "a" never share a subject, and no topic is a
// wildcard.
func EscapeTopic(topic string) string {
	if topic == "" {
		return emptyToken
	}
	n := 0
	for i := 0; i < len(topic); i++ {
		if needsEscape(topic[i]) {
			n++
		}
	}
	if n == 0 {
		return topic
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(topic) + 2*n)
	for i := 0; i < len(topic); i++ {
		c := topic[i]
		if needsEscape(c) {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// UnescapeTopic reverses EscapeTopic.
func UnescapeTopic(token string) (string, error) {
	if token == emptyToken {
		return "", nil
	}
	if !strings.Contains(token, "%") {
		return token, nil
	}
	var b strings.Builder
	b.Grow(len(token))
	for i := 0; i < len(token); i++ {
		c := token[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(token) {
			return "", fmt.Errorf("nats: bad escape in subject token %q", token)
		}
		hi, ok1 := unhex(token[i+1])
		lo, ok2 := unhex(token[i+2])
		if !ok1 || !ok2 {
			return "", fmt.Errorf("nats: bad escape in subject token %q", token)
		}
		b.WriteByte(hi<<4 | lo)
		i += 2
	}
	return b.String(), nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// Subject returns the NATS subject of topic.
func Subject(topic string) string { return SubjectPrefix + EscapeTopic(topic) }

// topicOf returns the topic a subject carries.
func topicOf(subject string) (string, error) {
	token, ok := strings.CutPrefix(subject, SubjectPrefix)
	if !ok {
		return "", fmt.Errorf("nats: subject %q is not under %q", subject, SubjectPrefix)
	}
	return UnescapeTopic(token)
}
