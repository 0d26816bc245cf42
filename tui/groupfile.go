package tui

import (
	"errors"
	"os"
	"path/filepath"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/atomicfile"
)

// readGroup reads and checks a group file.
func readGroup(path string) groupLoadedMsg {
	data, err := os.ReadFile(path)
	if err != nil {
		return groupLoadedMsg{path: path, err: err}
	}
	g, probs := groups.Parse(path, data)
	return groupLoadedMsg{path: path, data: data, group: g, probs: probs}
}

// loadGroup reads path, remembers it as a recent file and tells the store
// where the group's file is.
func loadGroup(d Deps, path string, note string) tea.Cmd {
	return func() tea.Msg {
		if abs, err := filepath.Abs(path); err == nil {
			path = abs
		}
		msg := readGroup(path)
		msg.note = note
		if msg.err == nil {
			rememberRecent(d.StateDir, path)
			rememberInStore(d, msg)
		}
		return msg
	}
}

// saveGroup applies e to the file as last read (groups.EditFile, which
// leaves a file changed meanwhile in an editor alone) and reads it back.
func saveGroup(d Deps, path string, was []byte, e groups.Edit, note string) tea.Cmd {
	return func() tea.Msg {
		err := groups.EditFile(path, was, e)
		if errors.Is(err, groups.ErrChanged) {
			msg := readGroup(path)
			msg.note = "not saved: the file changed on disk; reloaded it, try again"
			return msg
		}
		if err != nil {
			return statusMsg("not saved: " + err.Error())
		}
		msg := readGroup(path)
		msg.note = note
		if msg.err == nil {
			rememberInStore(d, msg)
		}
		return msg
	}
}

// writeAtomic replaces path with data atomically, keeping the file's mode.
func writeAtomic(path string, data []byte) error {
	mode := os.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	return atomicfile.Write(path, data, mode)
}
