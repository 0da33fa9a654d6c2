// Tests of function/renderers/xcluster/capi_kubeadm.cc.
