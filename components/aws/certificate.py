"""A public TLS certificate for the failover name, validated through DNS in the stack's hosted zone."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws


class DnsValidatedCertificate(pulumi.ComponentResource):
    """An ACM certificate for `domain`, validated by a record in `zone_id`, in one region (`provider`).

    Each region's load balancer needs a certificate of its own region. ACM asks for the same validation record
    for a domain wherever the certificate is, so the record is written once (`write_record`) and the other
    regions' validations wait for it.
    """

    certificate_arn: pulumi.Output[str]
    validation_fqdn: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        domain: str,
        zone_id: str,
        tags: dict[str, str],
        write_record: bool = True,
        provider: pulumi.ProviderResource | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("llmscale:index:DnsValidatedCertificate", name, None, opts)
        regional = pulumi.ResourceOptions(parent=self, provider=provider)
        certificate = aws.acm.Certificate(
            f"{name}-certificate",
            domain_name=domain,
            validation_method="DNS",
            tags=tags,
            opts=regional,
        )
        option = certificate.domain_validation_options.apply(lambda options: options[0])
        self.validation_fqdn = option.apply(lambda o: o.resource_record_name)
        if write_record:
            aws.route53.Record(
                f"{name}-validation",
                zone_id=zone_id,
                name=option.apply(lambda o: o.resource_record_name),
                type=option.apply(lambda o: o.resource_record_type),
                records=[option.apply(lambda o: o.resource_record_value)],
                ttl=300,
                # The standby region's certificate asks for the very same record.
                allow_overwrite=True,
                opts=pulumi.ResourceOptions(parent=self),
            )
        validation = aws.acm.CertificateValidation(
            f"{name}-validation",
            certificate_arn=certificate.arn,
            validation_record_fqdns=[self.validation_fqdn],
            opts=regional,
        )
        self.certificate_arn = validation.certificate_arn
        self.register_outputs({"certificateArn": self.certificate_arn})
