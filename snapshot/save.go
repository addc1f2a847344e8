package snapshot

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Format is a snapshot serialisation.
type Format int

const (
	JSON Format = iota
	YAML
)

func (f Format) String() string {
	switch f {
	case JSON:
		return "json"
	case YAML:
		return "yaml"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// FormatForPath picks the format from a file name's extension.
func FormatForPath(path string) (Format, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		return JSON, nil
	case ".yaml", ".yml":
		return YAML, nil
	}
	return 0, fmt.Errorf("%s: cannot tell the snapshot format from the extension; name the file .json, .yaml or .yml", path)
}

// Marshal encodes a snapshot. It does not validate: call Validate first if
// the snapshot was built in memory. Keys follow the v1 field order; empty
// optional fields are left out, as in JSON.
func Marshal(s *Snapshot, f Format) ([]byte, error) {
	if s == nil {
		return nil, fmt.Errorf("snapshot: Marshal of a nil snapshot")
	}
	switch f {
	case JSON:
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(s); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	case YAML:
		e := &yamlEmitter{}
		e.buf.Grow(1 << 16)
		e.mapping(reflect.ValueOf(s).Elem(), 0, false)
		return e.buf.Bytes(), nil
	}
	return nil, fmt.Errorf("snapshot: unknown format %v", f)
}

// Save writes a snapshot atomically (temporary file in the same directory,
// then rename), in the format its extension names.
func Save(path string, s *Snapshot) (err error) {
	f, err := FormatForPath(path)
	if err != nil {
		return err
	}
	data, err := Marshal(s, f)
	if err != nil {
		return err
	}
	mode := os.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("saving snapshot: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("saving snapshot: %w", err)
	}
	if err = tmp.Chmod(mode); err != nil {
		return fmt.Errorf("saving snapshot: %w", err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("saving snapshot: %w", err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("saving snapshot: %w", err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("saving snapshot: %w", err)
	}
	return nil
}

// yamlEmitter writes block-style YAML from the structs, quoting every string
// that a YAML reader could take for something else.
type yamlEmitter struct{ buf bytes.Buffer }

func (e *yamlEmitter) indent(n int) {
	for i := 0; i < n; i++ {
		e.buf.WriteString("  ")
	}
}

type emitField struct {
	key string
	v   reflect.Value
}

func emittedFields(v reflect.Value) []emitField {
	t := v.Type()
	var out []emitField
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		name, opts, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "" || name == "-" || !sf.IsExported() {
			continue
		}
		fv := v.Field(i)
		if strings.Contains(opts, "omitempty") && fv.IsZero() {
			continue
		}
		if fv.Kind() == reflect.Slice && fv.Len() == 0 && strings.Contains(opts, "omitempty") {
			continue
		}
		out = append(out, emitField{name, fv})
	}
	return out
}

// mapping writes a struct's fields at depth; inList means the first field
// follows a "- " already written.
func (e *yamlEmitter) mapping(v reflect.Value, depth int, inList bool) {
	fields := emittedFields(v)
	if len(fields) == 0 {
		e.buf.WriteString("{}\n")
		return
	}
	for i, f := range fields {
		if !(inList && i == 0) {
			e.indent(depth)
		}
		e.buf.WriteString(f.key)
		e.buf.WriteByte(':')
		e.value(f.v, depth)
	}
}

// value writes what follows "key:" (a scalar on the same line, or a nested
// block on the next lines).
func (e *yamlEmitter) value(v reflect.Value, depth int) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			e.buf.WriteString(" null\n")
			return
		}
		e.value(v.Elem(), depth)
	case reflect.Struct:
		if len(emittedFields(v)) == 0 {
			e.buf.WriteString(" {}\n")
			return
		}
		e.buf.WriteByte('\n')
		e.mapping(v, depth+1, false)
	case reflect.Slice:
		if v.Len() == 0 {
			e.buf.WriteString(" []\n")
			return
		}
		e.buf.WriteByte('\n')
		for i := 0; i < v.Len(); i++ {
			e.indent(depth + 1)
			e.buf.WriteString("- ")
			item := v.Index(i)
			if item.Kind() == reflect.Struct {
				e.mapping(item, depth+2, true)
				continue
			}
			e.scalar(item)
			e.buf.WriteByte('\n')
		}
	default:
		e.buf.WriteByte(' ')
		e.scalar(v)
		e.buf.WriteByte('\n')
	}
}

func (e *yamlEmitter) scalar(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		writeYAMLString(&e.buf, v.String())
	case reflect.Int, reflect.Int64, reflect.Int32:
		e.buf.WriteString(strconv.FormatInt(v.Int(), 10))
	case reflect.Float64:
		// Decimal notation: goccy/go-yaml reads "1e3" as a string.
		s := strconv.FormatFloat(v.Float(), 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		e.buf.WriteString(s)
	case reflect.Bool:
		e.buf.WriteString(strconv.FormatBool(v.Bool()))
	default:
		writeYAMLString(&e.buf, fmt.Sprint(v.Interface()))
	}
}

var yamlKeywords = map[string]bool{"true": true, "false": true, "null": true, "yes": true, "no": true,
	"on": true, "off": true, "y": true, "n": true, "nan": true, "inf": true}

// plainSafe reports whether s can be written unquoted and read back as the
// same string: a word of letters, digits and ._/- starting with a letter,
// that no YAML reader takes for a boolean or null.
func plainSafe(s string) bool {
	if s == "" || len(s) > 200 {
		return false
	}
	c := s[0]
	if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '/' || c == '-') {
			return false
		}
	}
	return !yamlKeywords[strings.ToLower(s)]
}

func writeYAMLString(buf *bytes.Buffer, s string) {
	if plainSafe(s) {
		buf.WriteString(s)
		return
	}
	buf.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			buf.WriteString(`\"`)
		case r == '\\':
			buf.WriteString(`\\`)
		case r == '\n':
			buf.WriteString(`\n`)
		case r == '\t':
			buf.WriteString(`\t`)
		case r == '\r':
			buf.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(buf, `\x%02x`, r)
		case r < utf8.RuneSelf:
			buf.WriteByte(byte(r))
		case r == utf8.RuneError || r == 0x85 || r == 0x2028 || r == 0x2029 || r == 0xfeff || !unicode.IsPrint(r):
			if r > 0xffff {
				fmt.Fprintf(buf, `\U%08x`, r)
			} else {
				fmt.Fprintf(buf, `\u%04x`, r)
			}
		default:
			buf.WriteRune(r)
		}
	}
	buf.WriteByte('"')
}
