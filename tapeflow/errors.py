"""`tf.errors`: TensorFlow's exception classes (re-exports)."""
from tapeflow.framework.errors import (  # noqa: F401
    AlreadyExistsError, DataLossError, FailedPreconditionError, InternalError, InvalidArgumentError,
    NotFoundError, OpError, OutOfRangeError, ResourceExhaustedError, UnimplementedError,
    UnavailableError, UnknownError)
