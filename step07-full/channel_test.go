package main

import "testing"

// TestCheckPeerSeesTheRuntimeGone checks that init can tell, from its end
// of the channel, whether run's end is still open: the test of whether the
// runtime died while the parent-death signal was cleared.
func TestCheckPeerSeesTheRuntimeGone(t *testing.T) {
	parent, child, err := newChannel()
	if err != nil {
		t.Fatal(err)
	}
	inside := openChannel(child)
	defer inside.close()
	if err := inside.checkPeer(); err != nil {
		t.Errorf("checkPeer with run's end open: %v", err)
	}
	if err := parent.send(message{Type: messageGo}); err != nil {
		t.Fatal(err)
	}
	if err := inside.checkPeer(); err != nil {
		t.Errorf("checkPeer with a message waiting: %v", err)
	}
	parent.close()
	if err := inside.checkPeer(); err == nil {
		t.Error("checkPeer with run's end closed: want an error, got none")
	}
}
