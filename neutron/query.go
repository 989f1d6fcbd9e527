package neutron

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// view is a resource as the API returns it.
type view = map[string]any

// paging parameters are accepted and ignored: lists are always complete
// and sorted by id.
var pagingParams = []string{"fields", "limit", "marker", "sort_key", "sort_dir", "page_reverse"}

// filter keeps the views matching every filter of q. A filter is an
// attribute name with one or more accepted values (repeated parameters are
// ORed, as in Neutron); values compare with the attribute's string form
// (booleans case-insensitively). fixed_ips filters are
// "ip_address=<ip>" and "subnet_id=<id>": a port matches when one of its
// fixed IPs matches all of them. A filter on an attribute the resource does
// not have is a 400.
func filter(views []view, q url.Values, names []string) ([]view, error) {
	for key := range q {
		if slices.Contains(pagingParams, key) {
			continue
		}
		if !slices.Contains(names, key) {
			return nil, badInput("[%s] is invalid attribute for filtering", key)
		}
	}
	out := views[:0:0]
	for _, v := range views {
		ok, err := matches(v, q)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, v)
		}
	}
	return out, nil
}

func matches(v view, q url.Values) (bool, error) {
	for key, wants := range q {
		if slices.Contains(pagingParams, key) {
			continue
		}
		if key == "fixed_ips" {
			ok, err := matchFixedIPs(v[key], wants)
			if err != nil || !ok {
				return false, err
			}
			continue
		}
		if !matchValue(v[key], wants) {
			return false, nil
		}
	}
	return true, nil
}

func matchValue(have any, wants []string) bool {
	for _, w := range wants {
		switch h := have.(type) {
		case string:
			if h == w {
				return true
			}
		case bool:
			if b, err := strconv.ParseBool(strings.ToLower(w)); err == nil && b == h {
				return true
			}
		case int:
			if strconv.Itoa(h) == w {
				return true
			}
		case int64:
			if strconv.FormatInt(h, 10) == w {
				return true
			}
		case []string:
			if slices.Contains(h, w) {
				return true
			}
		case nil:
			if w == "" || w == "None" {
				return true
			}
		default:
			if fmt.Sprint(h) == w {
				return true
			}
		}
	}
	return false
}

func matchFixedIPs(have any, wants []string) (bool, error) {
	var ips, subnets []string
	for _, w := range wants {
		k, val, ok := strings.Cut(w, "=")
		switch {
		case ok && k == "ip_address":
			ips = append(ips, val)
		case ok && k == "subnet_id":
			subnets = append(subnets, val)
		default:
			return false, badInput("Invalid fixed_ips filter %q: want ip_address=<ip> or subnet_id=<id>", w)
		}
	}
	fips, _ := have.([]fixedIP)
	for _, f := range fips {
		if (len(ips) == 0 || slices.Contains(ips, f.IPAddress)) &&
			(len(subnets) == 0 || slices.Contains(subnets, f.SubnetID)) {
			return true, nil
		}
	}
	return false, nil
}

// project keeps only the attributes named by q's fields parameters (all
// when there are none).
func project(v view, q url.Values) view {
	fields := q["fields"]
	if len(fields) == 0 {
		return v
	}
	out := view{}
	for _, f := range fields {
		for _, name := range strings.Split(f, ",") {
			if val, ok := v[name]; ok {
				out[name] = val
			}
		}
	}
	return out
}
