package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// Machine describes where a run happened.
type Machine struct {
	GOMAXPROCS int    `json:"gomaxprocs"`
	NumCPU     int    `json:"num_cpu"`
	CPU        string `json:"cpu"`
	Kernel     string `json:"kernel"`
	Go         string `json:"go"`
	// LoadBefore and LoadAfter are /proc/loadavg's 1, 5 and 15 minute
	// averages at the start and the end of the run.
	LoadBefore string `json:"load_before"`
	LoadAfter  string `json:"load_after"`
}

// machineFacts reads what it can; unknown fields stay "?".
func machineFacts() Machine {
	return Machine{
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		NumCPU:     runtime.NumCPU(),
		CPU:        cpuModel(),
		Kernel:     firstLine("/proc/sys/kernel/osrelease"),
		Go:         runtime.Version(),
		LoadBefore: loadAvg(),
	}
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "?"
	}
	for line := range bytes.Lines(b) {
		if k, v, ok := strings.Cut(string(line), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

func loadAvg() string {
	f := strings.Fields(firstLine("/proc/loadavg"))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func firstLine(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "?"
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSpace(line)
}

// ProcStatus is the part of /proc/<pid>/status the RSS scenario reads.
type ProcStatus struct {
	RSS     int64 `json:"rss_bytes"` // VmRSS
	HWM     int64 `json:"hwm_bytes"` // VmHWM, the peak RSS
	Threads int   `json:"threads"`   // OS threads
}

// readProcStatus reads VmRSS, VmHWM and Threads of pid.
func readProcStatus(pid int) (ProcStatus, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ProcStatus{}, fmt.Errorf("bench: %w", err)
	}
	defer f.Close()
	return parseProcStatus(bufio.NewScanner(f))
}

// parseProcStatus reads the lines of a /proc/<pid>/status file.
func parseProcStatus(sc *bufio.Scanner) (ProcStatus, error) {
	var st ProcStatus
	var seen int
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "VmRSS":
			st.RSS, seen = n<<10, seen|1
		case "VmHWM":
			st.HWM = n << 10
		case "Threads":
			st.Threads = int(n)
		}
	}
	if err := sc.Err(); err != nil {
		return st, fmt.Errorf("bench: read status: %w", err)
	}
	if seen == 0 {
		return st, fmt.Errorf("bench: no VmRSS in status")
	}
	return st, nil
}
