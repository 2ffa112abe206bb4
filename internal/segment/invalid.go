package segment

import "github.com/parcours/parcours/internal/problem"

// invalid returns the error of a segment definition (id, empty when not
// known yet) wrong at path: a *problem.ValidationError of subject "segment",
// which the API reports as invalid_segment.
func invalid(id, path, reason string) *problem.ValidationError {
	return &problem.ValidationError{Subject: "segment", ID: id, Path: path, Reason: reason}
}
