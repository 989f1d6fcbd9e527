package zmq

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

func rmsg(topic string, seq uint64, size int) []byte {
	b := fmt.Appendf(nil, "%s/%d/", topic, seq)
	for len(b) < size {
		b = append(b, 'x')
	}
	return b
}

func TestReplayBufferPerTopicBound(t *testing.T) {
	b := newReplayBuffer(3, 1<<20)
	for s := uint64(1); s <= 5; s++ {
		b.add("a", s, rmsg("a", s, 10))
	}
	b.add("b", 1, rmsg("b", 1, 10))
	held, bytes, evicted := b.stats()
	require.Equal(t, 4, held)
	require.Equal(t, 40, bytes)
	require.EqualValues(t, 2, evicted)

	msgs, ok := b.since("a", 2) // holds 3..5
	require.True(t, ok)
	require.Equal(t, [][]byte{rmsg("a", 3, 10), rmsg("a", 4, 10), rmsg("a", 5, 10)}, msgs)
	msgs, ok = b.since("a", 4)
	require.True(t, ok)
	require.Equal(t, [][]byte{rmsg("a", 5, 10)}, msgs)
	_, ok = b.since("a", 1) // 2 evicted: not covered
	require.False(t, ok)
	msgs, ok = b.since("a", 5) // up to date
	require.True(t, ok)
	require.Empty(t, msgs)
	_, ok = b.since("a", 9) // beyond what was stamped
	require.False(t, ok)
	msgs, ok = b.since("c", 0) // never published, nothing missed
	require.True(t, ok)
	require.Empty(t, msgs)
	_, ok = b.since("c", 3)
	require.False(t, ok)
	msgs, ok = b.since("b", 0)
	require.True(t, ok)
	require.Len(t, msgs, 1)
}

func TestReplayBufferByteBoundEvictsOldestFirst(t *testing.T) {
	b := newReplayBuffer(100, 100)
	b.add("a", 1, rmsg("a", 1, 30))
	b.add("b", 1, rmsg("b", 1, 30))
	b.add("a", 2, rmsg("a", 2, 30))
	b.add("b", 2, rmsg("b", 2, 30)) // 120 bytes: a/1 goes
	held, bytes, evicted := b.stats()
	require.Equal(t, 3, held)
	require.Equal(t, 90, bytes)
	require.EqualValues(t, 1, evicted)
	_, ok := b.since("a", 0)
	require.False(t, ok, "a/1 evicted")
	msgs, ok := b.since("a", 1)
	require.True(t, ok)
	require.Len(t, msgs, 1)
	msgs, ok = b.since("b", 0)
	require.True(t, ok)
	require.Len(t, msgs, 2)

	// A message larger than the whole bound: the topic can cover nothing
	// before it any more.
	b.add("b", 3, rmsg("b", 3, 200))
	_, ok = b.since("b", 2)
	require.False(t, ok)
	msgs, ok = b.since("b", 3)
	require.True(t, ok)
	require.Empty(t, msgs)
	held, bytes, _ = b.stats()
	require.Equal(t, 1, held)
	require.Equal(t, 30, bytes)
}

func TestReplayBufferStaysBounded(t *testing.T) {
	b := newReplayBuffer(8, 4096)
	for s := uint64(1); s <= 100000; s++ {
		for _, tp := range []string{"a", "b", "c"} {
			b.add(tp, s, rmsg(tp, s, 20))
		}
		held, bytes, _ := b.stats()
		require.LessOrEqual(t, held, 24)
		require.LessOrEqual(t, bytes, 4096)
	}
	require.Less(t, len(b.fifo), 2*24+64+2, "stale refs compacted")
	msgs, ok := b.since("b", 100000-8)
	require.True(t, ok)
	require.Len(t, msgs, 8)
	require.Nil(t, newReplayBuffer(0, 100), "off")
	var off *replayBuffer
	_, ok = off.since("a", 0)
	require.False(t, ok)
}

func TestResumeCommandCodec(t *testing.T) {
	seqs := map[string]uint64{}
	for i := range hbMaxTopics + 10 {
		seqs[fmt.Sprintf("t%d", i)] = uint64(i)
	}
	b := appendResume(nil, "pub", 42, seqs)
	got := map[string]uint64{}
	cmds := 0
	for len(b) > 0 {
		// Parse the frames back with the heartbeat codec.
		f, n := parseTestFrame(t, b)
		b = b[n:]
		cmds++
		require.Equal(t, byte(len(cmdResume)), f[0])
		require.Equal(t, cmdResume, string(f[1:1+len(cmdResume)]))
		hb, err := parseHeartbeat(f[1+len(cmdResume):])
		require.NoError(t, err)
		require.Equal(t, "pub", hb.pubID)
		require.EqualValues(t, 42, hb.epoch)
		for _, ts := range hb.seqs {
			got[ts.topic] = ts.seq
		}
	}
	require.Equal(t, 2, cmds)
	require.Equal(t, seqs, got)
}

// parseTestFrame returns the body of the command frame at the start of b
// and the frame's length.
func parseTestFrame(t *testing.T, b []byte) ([]byte, int) {
	t.Helper()
	require.NotZero(t, b[0]&0x04, "command flag")
	if b[0]&0x02 != 0 {
		n := int(uint64(b[1])<<56 | uint64(b[2])<<48 | uint64(b[3])<<40 | uint64(b[4])<<32 |
			uint64(b[5])<<24 | uint64(b[6])<<16 | uint64(b[7])<<8 | uint64(b[8]))
		return b[9 : 9+n], 9 + n
	}
	n := int(b[1])
	return b[2 : 2+n], 2 + n
}
