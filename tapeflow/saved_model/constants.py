"""File and directory names of a SavedModel, as TensorFlow lays them out."""
SAVED_MODEL_FILENAME_PB = "saved_model.pb"
SAVED_MODEL_FILENAME_PBTXT = "saved_model.pbtxt"
FINGERPRINT_FILENAME = "fingerprint.pb"
VARIABLES_DIRECTORY = "variables"
VARIABLES_FILENAME = "variables"
ASSETS_DIRECTORY = "assets"
SERVING_TAG = "serve"
SCHEMA_VERSION = 1
