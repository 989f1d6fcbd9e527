package zmq

// Topic matching: ZeroMQ prefix semantics. A subscription to "D" matches
// topics "D" and "Dxyz"; the empty subscription matches every topic. A
// publisher filters on its side, per connection, as libzmq does; a subscriber
// filters again on arrival (an event sent before a CANCEL reached the
// publisher is not delivered).

import (
	"slices"
	"strings"
)

// linearMax: up to this many prefixes, matching scans them; beyond, it looks
// up the topic's prefixes of each subscribed length.
const linearMax = 8

// prefixSet is a set of subscription prefixes with reference counts: libzmq
// counts a topic subscribed twice as needing two cancels, and so do we.
// Not safe for concurrent use.
type prefixSet struct {
	counts  map[string]int
	list    []string // distinct prefixes, sorted
	lengths []int    // distinct prefix lengths, ascending
}

func newPrefixSet() *prefixSet { return &prefixSet{counts: map[string]int{}} }

// add counts one more subscription to p; it reports whether p is new.
func (s *prefixSet) add(p string) bool {
	s.counts[p]++
	if s.counts[p] > 1 {
		return false
	}
	s.rebuild()
	return true
}

// remove counts one subscription to p less; it reports whether p is gone.
func (s *prefixSet) remove(p string) bool {
	n, ok := s.counts[p]
	if !ok {
		return false
	}
	if n > 1 {
		s.counts[p] = n - 1
		return false
	}
	delete(s.counts, p)
	s.rebuild()
	return true
}

func (s *prefixSet) rebuild() {
	s.list = s.list[:0]
	s.lengths = s.lengths[:0]
	for p := range s.counts {
		s.list = append(s.list, p)
		s.lengths = append(s.lengths, len(p))
	}
	slices.Sort(s.list)
	slices.Sort(s.lengths)
	s.lengths = slices.Compact(s.lengths)
}

// match reports whether some prefix of the set is a prefix of topic.
func (s *prefixSet) match(topic string) bool {
	if len(s.list) <= linearMax {
		for _, p := range s.list {
			if strings.HasPrefix(topic, p) {
				return true
			}
		}
		return false
	}
	for _, n := range s.lengths {
		if n > len(topic) {
			return false
		}
		if _, ok := s.counts[topic[:n]]; ok {
			return true
		}
	}
	return false
}

// clone returns an independent copy.
func (s *prefixSet) clone() *prefixSet {
	c := &prefixSet{counts: make(map[string]int, len(s.counts))}
	for p, n := range s.counts {
		c.counts[p] = n
	}
	c.list = slices.Clone(s.list)
	c.lengths = slices.Clone(s.lengths)
	return c
}

// topics returns the distinct prefixes, sorted.
func (s *prefixSet) topics() []string { return slices.Clone(s.list) }
