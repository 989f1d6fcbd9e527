package zmq

// Reading CURVE keys from files, for the configuration (INI options naming
// key files) and `dfctl curve keygen`. Two formats are read:
//   - bare Z85: one 40-character key (secret file) or one key per line
//     (allow-list), blank lines and lines starting with # ignored;
//   - ZeroMQ certificates (czmq zcert, pyzmq zmq.auth.create_certificates):
//     `public-key = "…"` and, in the secret file, `secret-key = "…"`.
// A secret key file readable by group or others is refused. Errors never
// quote a key file's content.

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"

	"github.com/dragonflow-go/dragonflow/pubsub/zmq/zmtp"
)

// ReadCurveSecretKeyFile returns the Z85 secret key held in path (bare
// Z85, or a certificate's secret-key); the file must not be readable by
// group or others.
func ReadCurveSecretKeyFile(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("%w: secret key file: %w", ErrCurveConfig, err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("%w: secret key file %s is accessible to group or others (mode %#o): chmod 600",
			ErrCurveConfig, path, st.Mode().Perm())
	}
	keys, err := readKeyFile(path, "secret-key")
	if err != nil {
		return "", err
	}
	if len(keys) != 1 {
		return "", fmt.Errorf("%w: secret key file %s holds %d keys, want 1", ErrCurveConfig, path, len(keys))
	}
	return keys[0], nil
}

// ReadCurvePublicKeysFile returns the Z85 public keys listed in path: one
// per line, or a certificate's public-key (an allow-list, or a server's
// public key).
func ReadCurvePublicKeysFile(path string) ([]string, error) {
	return readKeyFile(path, "public-key")
}

// readKeyFile reads the keys of path: the certificate field's values when
// there are any, else every line that is not blank or a comment; each must
// be a valid Z85 key.
func readKeyFile(path, field string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: key file: %w", ErrCurveConfig, err)
	}
	defer clear(b)
	var bare, cert []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		// Z85 has neither blanks nor quotes: such a line is a certificate's
		// `name = "value"` (section names, bare words, stay bare).
		if strings.ContainsAny(l, " \t\"") {
			if name, value, ok := strings.Cut(l, "="); ok && strings.TrimSpace(name) == field {
				cert = append(cert, strings.Trim(strings.TrimSpace(value), `"`))
			}
			continue
		}
		bare = append(bare, l)
	}
	keys := bare
	if len(cert) > 0 {
		keys = cert
	}
	for i, k := range keys {
		if _, err := zmtp.ParseCurveKey(k); err != nil {
			return nil, fmt.Errorf("%w: %s: key %d: %w", ErrCurveConfig, path, i+1, err)
		}
	}
	return keys, nil
}
