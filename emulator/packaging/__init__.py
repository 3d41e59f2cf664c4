"""Model packages (``Model.package``) and model profiles (``Model.profile``), each a long-running operation
whose work runs on a thread of the daemon: inputs.py lays out a request's app root, packages.py builds the
Docker build context or the image, profiles.py runs the model on a replica and measures it."""
