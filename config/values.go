package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// parseValue checks raw against o and returns the typed value: string, int,
// bool, []string, netip.Addr or time.Duration. The error is the reason only;
// callers wrap it in a *ValueError.
func parseValue(o *Opt, raw string) (any, error) {
	switch o.Kind {
	case KindStr:
		return raw, checkStr(o, raw)
	case KindInt:
		return parseInt(o, raw)
	case KindSeconds:
		n, err := parseInt(o, raw)
		if err != nil {
			return nil, err
		}
		return time.Duration(n) * time.Second, nil
	case KindPort:
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > 65535 {
			return nil, errors.New("not a port number (1-65535)")
		}
		return n, nil
	case KindBool:
		return parseBool(raw)
	case KindIP:
		a, err := netip.ParseAddr(raw)
		if err != nil {
			return nil, errors.New("not an IP address")
		}
		return a, nil
	case KindList:
		items := splitList(raw)
		if o.Check != nil {
			for _, it := range items {
				if err := o.Check(it); err != nil {
					return nil, fmt.Errorf("item %q: %w", it, err)
				}
			}
		}
		return items, nil
	}
	return nil, fmt.Errorf("option %s has no kind", o.Key())
}

func checkStr(o *Opt, s string) error {
	if len(o.Choices) > 0 && !slices.Contains(o.Choices, s) {
		return fmt.Errorf("not one of: %s", strings.Join(o.Choices, ", "))
	}
	if o.Check != nil {
		return o.Check(s)
	}
	return nil
}

func parseInt(o *Opt, raw string) (int, error) {
	n, err := strconv.Atoi(raw)
	if err != nil {
		if o.Kind == KindSeconds {
			return 0, errors.New("not a whole number of seconds")
		}
		return 0, errors.New("not an integer")
	}
	switch {
	case o.Min != nil && o.Max != nil && (n < *o.Min || n > *o.Max):
		return 0, fmt.Errorf("out of range (%d-%d)", *o.Min, *o.Max)
	case o.Min != nil && n < *o.Min:
		return 0, fmt.Errorf("must be at least %d", *o.Min)
	case o.Max != nil && n > *o.Max:
		return 0, fmt.Errorf("must be at most %d", *o.Max)
	}
	return n, nil
}

func parseBool(raw string) (bool, error) {
	switch strings.ToLower(raw) {
	case "true", "yes", "on", "1":
		return true, nil
	case "false", "no", "off", "0":
		return false, nil
	}
	return false, errors.New("not a boolean (true/false, yes/no, on/off, 1/0)")
}

// splitList splits on commas and newlines, trims items and drops empty ones,
// so a trailing comma or a multi-line value does not add an empty item.
func splitList(raw string) []string {
	items := []string{}
	for _, f := range strings.FieldsFunc(raw, func(r rune) bool { return r == ',' || r == '\n' }) {
		if f = strings.TrimSpace(f); f != "" {
			items = append(items, f)
		}
	}
	return items
}

// formatValue writes a typed value back in file syntax.
func formatValue(v any) string {
	switch v := v.(type) {
	case []string:
		return strings.Join(v, ",")
	case time.Duration:
		return strconv.FormatInt(int64(v/time.Second), 10)
	case netip.Addr:
		return v.String()
	}
	return fmt.Sprint(v)
}

// checkBindAddress accepts "*", "" (both: all interfaces) or an IP literal.
func checkBindAddress(s string) error {
	if s == "*" || s == "" {
		return nil
	}
	if _, err := netip.ParseAddr(s); err != nil {
		return errors.New(`not an IP address or "*"`)
	}
	return nil
}

// checkHostPort accepts "host:port" with a numeric port (0 picks a free one).
func checkHostPort(s string) error {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return errors.New("not host:port")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return errors.New("not host:port with a numeric port (0-65535)")
	}
	return nil
}
