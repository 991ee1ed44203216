"""TensorFlow's exception classes (`tf.errors.*`), raised by tapeflow ops.

Each error names the op that failed, as TF's messages do, so that the same
`except tf.errors.InvalidArgumentError` clauses work unchanged.
"""
from __future__ import annotations


class OpError(Exception):
    """Base of the errors raised when an op fails."""

    def __init__(self, node_def=None, op=None, message: str = "", *args):
        # Accept both TF's (node_def, op, message) and the plain (message) form.
        if message == "" and isinstance(node_def, str) and op is None:
            message, node_def = node_def, None
        super().__init__(message)
        self.message = message
        self.node_def = node_def
        self.op = op

    def __str__(self) -> str:
        return self.message


class InvalidArgumentError(OpError, ValueError):
    pass


class NotFoundError(OpError):
    pass


class AlreadyExistsError(OpError):
    pass


class FailedPreconditionError(OpError):
    pass


class OutOfRangeError(OpError):
    pass


class UnimplementedError(OpError):
    pass


class InternalError(OpError):
    pass


class ResourceExhaustedError(OpError):
    pass


class UnknownError(OpError):
    pass


class DataLossError(OpError):
    pass


class UnavailableError(OpError):
    pass


def op_error(op_name: str, message: str, cls=InvalidArgumentError) -> OpError:
    """An error in TF's eager format: '<message> [Op:<name>]'."""
    return cls(None, None, f"{message} [Op:{op_name}]")
