from ninja import Router

router = Router(tags=["suitability"])
