package etcd

import (
	"errors"
	"fmt"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"

	"github.com/dragonflow-go/dragonflow/nb"
)

// sentinel returns the nb error an etcd error stands for, or nil.
func (d *Driver) sentinel(err error) error {
	switch {
	case errors.Is(err, rpctypes.ErrLeaseNotFound):
		return nb.ErrLeaseExpired
	case errors.Is(err, rpctypes.ErrCompacted):
		return nb.ErrCompacted
	case d.isClosed():
		// In-flight calls fail with gRPC "client connection is closing".
		return nb.ErrClosed
	}
	return nil
}

// wrap adds the operation and its subject to err and, when err stands for
// an nb error, wraps that too, so both errors.Is(err, nb.ErrX) and
// errors.Is(err, rpctypes.ErrY) hold. nil stays nil.
func (d *Driver) wrap(op, subject string, err error) error {
	if err == nil {
		return nil
	}
	if s := d.sentinel(err); s != nil {
		return fmt.Errorf("etcd: %s %s: %w: %w", op, subject, s, err)
	}
	return fmt.Errorf("etcd: %s %s: %w", op, subject, err)
}
