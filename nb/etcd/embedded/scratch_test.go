package embedded

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"
)

func TestScratch(t *testing.T) {
	h := slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelWarn})
	dir := t.TempDir()
	s, err := Start(context.Background(), Config{DataDir: dir + "/data", ClientAddr: "127.0.0.1:0", Logger: slog.New(h)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t0 := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	s2, err := Start(ctx, Config{DataDir: dir + "/data", ClientAddr: "127.0.0.1:0", Logger: slog.New(h), ReadyTimeout: 2 * time.Second})
	t.Log(time.Since(t0), err)
	if s2 != nil {
		s2.Close()
	}
}
