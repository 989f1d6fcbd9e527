package faults

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
)

const (
	resultsBegin = "<!-- results:begin -->"
	resultsEnd   = "<!-- results:end -->"
)

// writeReadme replaces the results section of README.md with this run's
// figures when DF_FAULTS_README=1 (so that make test does not rewrite a
// tracked file on every run).
func writeReadme() error {
	if os.Getenv("DF_FAULTS_README") != "1" {
		return nil
	}
	resultsMu.Lock()
	defer resultsMu.Unlock()
	if len(results) == 0 {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\nLast run: %s, `go test -race` (race=%v), 2 CPU cores.\n\n", resultsBegin,
		time.Now().UTC().Format("2006-01-02 15:04 MST"), raceEnabled)
	b.WriteString("| scenario | events written | subscribers | applied by event (min–max per subscriber) | undelivered, repaired by resync | gaps (by reason) | resyncs (by reason) | time to consistency |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	names := make([]string, 0, len(results))
	for n := range results {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		r := results[n]
		minA, maxA, und := -1, 0, 0
		for _, s := range r.perSub {
			if minA < 0 || s.applied < minA {
				minA = s.applied
			}
			maxA = max(maxA, s.applied)
			und += s.undelivered
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d–%d | %d | %s | %s | %s |\n", r.scenario, r.written, len(r.perSub), minA, maxA, und,
			fmtMap(sumMaps(r.perSub, func(s histStats) map[string]int { return s.gaps })),
			fmtMap(sumMaps(r.perSub, func(s histStats) map[string]int { return s.resyncs })),
			r.consistent.Round(time.Millisecond))
	}
	b.WriteString("\n")
	for _, n := range names {
		r := results[n]
		if len(r.extra) == 0 {
			continue
		}
		fmt.Fprintf(&b, "%s:\n", r.scenario)
		for _, e := range r.extra {
			fmt.Fprintf(&b, "- %s\n", e)
		}
		b.WriteString("\n")
	}
	var missing []string
	for _, s := range []string{"1 publisher kill -9 + restart", "3 NB DB stop + restart", "4 stuck subscriber",
		"5 network cut (proxy)", "6 publisher restart, 200 subscribers", "7 malformed input"} {
		if _, ok := results[s]; !ok {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		fmt.Fprintf(&b, "No results in this run (failed or not run): %s.\n\n", strings.Join(missing, "; "))
	}
	b.WriteString(resultsEnd)
	old, err := os.ReadFile("README.md")
	if err != nil {
		return err
	}
	s := string(old)
	i, j := strings.Index(s, resultsBegin), strings.Index(s, resultsEnd)
	if i < 0 || j < i {
		return fmt.Errorf("README.md has no %s … %s section", resultsBegin, resultsEnd)
	}
	return os.WriteFile("README.md", []byte(s[:i]+b.String()+s[j+len(resultsEnd):]), 0o644)
}
