package tui

import "charm.land/bubbles/v2/key"

// KeyMap is every key the UI answers to, in one place; the help view (?) and
// the short help line are generated from it.
type KeyMap struct {
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding
	NextPane, PrevPane, Enter, Back         key.Binding
	Filter, Severity                        key.Binding
	Probe, ProbeAll, Reload, Stop           key.Binding
	Copy, Export, Help, Quit                key.Binding
}

// DefaultKeyMap is gwdoctor's key map.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "ctrl+u"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "ctrl+d"), key.WithHelp("pgdn", "page down")),
		Top:      key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("g/home", "first")),
		Bottom:   key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("G/end", "last")),
		NextPane: key.NewBinding(key.WithKeys("tab", "right", "l"), key.WithHelp("tab", "next pane")),
		PrevPane: key.NewBinding(key.WithKeys("shift+tab", "left", "h"), key.WithHelp("⇧tab", "prev pane")),
		Enter:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open")),
		Back:     key.NewBinding(key.WithKeys("esc", "backspace"), key.WithHelp("esc", "back")),
		Filter:   key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		Severity: key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "severity")),
		Probe:    key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "probe service")),
		ProbeAll: key.NewBinding(key.WithKeys("P"), key.WithHelp("P", "probe all")),
		Reload:   key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "reload, compare")),
		Stop:     key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "stop")),
		Copy:     key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "copy fix")),
		Export:   key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "export .md")),
		Help:     key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:     key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
	}
}

// ShortHelp is the one-line help at the bottom, most useful first: the
// line is cut at the terminal's width.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Help, k.Up, k.NextPane, k.Enter, k.Copy, k.Probe, k.Reload, k.Filter, k.Severity, k.Export, k.Quit}
}

// FullHelp is the help view's columns.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
		{k.NextPane, k.PrevPane, k.Enter, k.Back, k.Filter, k.Severity},
		{k.Probe, k.ProbeAll, k.Reload, k.Stop},
		{k.Copy, k.Export, k.Help, k.Quit},
	}
}
