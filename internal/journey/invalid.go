package journey

import "github.com/parcours/parcours/internal/problem"

// invalid returns the error of a journey definition (id, empty when not
// known yet) wrong at path: a *problem.ValidationError of subject "journey",
// which the API reports as invalid_journey.
func invalid(id, path, reason string) *problem.ValidationError {
	return &problem.ValidationError{Subject: "journey", ID: id, Path: path, Reason: reason}
}
