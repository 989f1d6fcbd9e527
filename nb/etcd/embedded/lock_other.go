//go:build !unix

package embedded

// lockDataDir is a no-op where flock is unavailable: there, a second server
// on a busy data dir blocks inside etcd until the first one stops.
func lockDataDir(string) (func(), error) { return func() {}, nil }
