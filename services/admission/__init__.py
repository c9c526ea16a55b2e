"""Admission and conversion as Kubernetes webhooks: kpack's defaults, update rules and v1alpha1 ⇄ v1alpha2."""
