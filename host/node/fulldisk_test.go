package node_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/raidakx/raidakx/abi"
	"github.com/raidakx/raidakx/host/client"
)

// TestFullDisk serves a data root on a 4 MiB tmpfs, fills it, and checks
// that writes are refused with a well-formed answer (41: 194; 45: 252,
// never acknowledged), that nothing acknowledged before is lost, and that
// the node recovers when space returns. Mounting needs root (CI runs as
// root); elsewhere the test says why it cannot run.
func TestFullDisk(t *testing.T) {
	disk := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", disk).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs (needs root): %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", disk).Run() })
	root := newRootAt(t, disk)
	srv := start(t, root)
	n := srv.node("udp")

	id := bytes.Repeat([]byte{0x11}, 16)
	post := func(key []byte) abi.Status {
		t.Helper()
		resp, err := client.NewRequest(4, 41, client.PostKeyPayload(id, 0, key), client.Encryption{}).Do(n)
		if err != nil {
			t.Fatal(err)
		}
		return resp.Header.Status
	}
	decrypt45 := func(sn uint32, h []byte) abi.Status {
		t.Helper()
		r := client.NewRequest(4, 45, nil, client.Encryption{})
		r.Payload = decryptPayload(r.Nonce, keyRecord{1, sn, 0, h})
		resp, err := r.Do(n)
		if err != nil {
			t.Fatal(err)
		}
		return resp.Header.Status
	}
	if st := post([]byte("acknowledged")); st != abi.StatusSuccess {
		t.Fatalf("41 before the disk fills: %v", st)
	}
	if st := decrypt45(7, half(1, 0)); st != abi.StatusSuccess {
		t.Fatalf("45 before the disk fills: %v", st)
	}

	filler := filepath.Join(disk, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	// Fill to the last byte: big chunks, then smaller ones.
	for size := 64 << 10; size > 0; size /= 2 {
		for {
			if _, err := f.Write(make([]byte, size)); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatal(err)
				}
				break
			}
		}
	}
	f.Close()

	if st := post([]byte("refused")); st != abi.StatusFilesystem {
		t.Errorf("41 on a full disk: status %v, want 194", st)
	}
	// A 45 is acknowledged only if its change is durable (the journal
	// may still have room in a block it owns); otherwise 252.
	acked45 := false
	switch st := decrypt45(500_000, half(2, 0)); st {
	case abi.StatusSuccess:
		acked45 = true
	case abi.StatusInternal:
	default:
		t.Errorf("45 on a full disk: status %v, want 250 or 252", st)
	}
	mustEcho(t, srv, "udp")

	os.Remove(filler)
	if st := post([]byte("after")); st != abi.StatusSuccess {
		t.Fatalf("41 after space returned: %v", st)
	}
	srv.stop(t)
	if got, _ := os.ReadFile(filepath.Join(root, "Keys", "11111111111111111111111111111111")); !bytes.Equal(got, append(make([]byte, 5), "after"...)) {
		t.Errorf("key file %q", got)
	}
	if got := readRecord(t, root, 1, 7); !bytes.Equal(got[:8], half(1, 0)) {
		t.Errorf("acknowledged record (1, 7) lost: %x", got)
	}
	if got := readRecord(t, root, 1, 500_000); acked45 && !bytes.Equal(got[:8], half(2, 0)) {
		t.Errorf("record (1, 500000) acknowledged on the full disk, lost: %x", got)
	}
	t.Logf("45 on the full disk acknowledged: %v", acked45)
}
